package gates

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// watcherLine is one of the watcher's JSON log lines.
type watcherLine struct {
	Msg     string `json:"msg"`
	Metrics string `json:"metrics"`
	App     string `json:"app"`
	Cause   string `json:"cause"`
}

func parseLine(s string) watcherLine {
	var l watcherLine
	_ = json.Unmarshal([]byte(s), &l)
	return l
}

// The watcher as the platform ships it: its Application deploys (Synced,
// Healthy); run as a local process with nothing but its ServiceAccount's
// token, its roles are enough for its job and no more; it closes a leased
// gate at the lease's end, with an Event, pauses a KServe gate outside its
// window, says so in its metrics, and of two replicas only one acts.
func TestWatcherClosesWhatNobodyClosed(t *testing.T) {
	s := sandbox.Need(t, sb)
	clusters := fullPlatform(t, s)
	costgate := func(args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, 3*time.Minute, "kubectl-costgate", append(args, "--env", "sandbox", "--dir", clusters)...)
	}
	ctx := context.Background()
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	app, err := apps.Get(ctx, "costgate-watcher", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sync, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status"); sync != "Synced" {
		t.Errorf("Application costgate-watcher is %s, want Synced", sync)
	}
	if health, _, _ := unstructured.NestedString(app.Object, "status", "health", "status"); health != "Healthy" {
		t.Errorf("Application costgate-watcher is %s, want Healthy", health)
	}

	// Its roles, and no more: the shipped ServiceAccount may not scale a
	// Deployment that is not a gate.
	kubeconfig := s.TokenKubeconfig(t, "costgate", "costgate-watcher")
	out, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "scale", "deployment/text-embeddings", "-n", "embeddings", "--replicas=0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "forbidden") {
		t.Errorf("the watcher's account scaled an ungated Deployment (%v):\n%s", err, out)
	}

	// Two replicas: the first leads, the second stands by.
	args := []string{"watch", "--argocd-namespace", sandbox.ArgoCDNamespace, "--leader-elect", "--leader-election-namespace", "costgate",
		"--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0"}
	start := func(name string) (*sandbox.Running, string) {
		t.Helper()
		w := sandbox.StartPlugin(t, sandbox.Env(kubeconfig), "kubectl-costgate", args...)
		l := parseLine(testwait.Until(t, w.Lines, name+" to start", func(s string) bool { return parseLine(s).Msg == "starting" }))
		return w, "http://" + l.Metrics + "/metrics"
	}
	a, aMetrics := start("watcher a")
	testwait.Until(t, a.Lines, "watcher a to lead", func(s string) bool { return parseLine(s).Msg == "leading" })
	b, _ := start("watcher b")
	testwait.Until(t, b.Lines, "watcher b to stand by", func(s string) bool { return parseLine(s).Msg == "standing by" })
	metricLine := func(name string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`)
	}
	metricIs := func(name, want string) {
		t.Helper()
		var last string
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			resp, err := http.Get(aMetrics)
			if err != nil {
				return false, err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			m := metricLine(name).FindStringSubmatch(string(body))
			if m != nil {
				last = m[1]
			}
			return last == want, nil
		})
		if err != nil {
			t.Fatalf("%s is %q, want %s: %v", name, last, want, err)
		}
	}
	metricIs("costgate_watcher_leader", "1")

	// A lease of 10s: closed at its end, give or take 2s, by the watcher alone.
	started := time.Now()
	if r := costgate("up", "raw-vllm", "--for", "10s", "--wait=false"); r.Code != 0 {
		t.Fatalf("up raw-vllm --for 10s: %s", r)
	}
	live, err := apps.Get(ctx, "raw-vllm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expires, err := time.Parse(time.RFC3339, live.GetAnnotations()["costgate.aidev.io/expires-at"])
	if err != nil {
		t.Fatalf("up --for 10s recorded no lease: %v", live.GetAnnotations())
	}
	metricIs(`costgate_gate_open{app="raw-vllm",gate="scale",target="Deployment/serving/raw-vllm"}`, "1")
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := s.WaitFor(wctx, deployments, "serving", "raw-vllm", func(u *unstructured.Unstructured) (bool, error) {
		r, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		return r == 0, nil
	}); err != nil {
		t.Fatalf("the watcher did not close raw-vllm: %v", err)
	}
	closedAt := time.Now()
	// expires-at has whole seconds: the close comes at or after it, within 2s.
	if late := closedAt.Sub(expires); late < -time.Second || late > 3*time.Second {
		t.Errorf("closed %s after the lease's end (%s), want within 2s", late, expires.Format(time.RFC3339))
	}
	t.Logf("lease end to close: %s", closedAt.Sub(expires).Round(time.Millisecond))
	metricIs(`costgate_gate_open{app="raw-vllm",gate="scale",target="Deployment/serving/raw-vllm"}`, "0")
	metricIs(`costgate_closes_total{app="raw-vllm",reason="lease"}`, "1")

	closedEvents := func(app string) []string {
		t.Helper()
		evs, err := s.Kube.CoreV1().Events(sandbox.ArgoCDNamespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + app + ",reason=CostGateClosed"})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs.Items {
			if !e.EventTime.Time.Before(started.Add(-time.Second)) {
				out = append(out, e.Message)
			}
		}
		return out
	}
	if evs := closedEvents("raw-vllm"); len(evs) != 1 || !strings.Contains(evs[0], "lease ran out") || !strings.Contains(evs[0], "saving $0.80 per hour") {
		t.Errorf("Events CostGateClosed on raw-vllm: %q, want one saying the lease ran out and what it saves", evs)
	}

	// A KServe gate outside its uptime window: paused.
	for _, verb := range []string{"sync", "resume"} {
		if r := costgate(verb, "kserve-demo"); r.Code != 0 {
			t.Fatalf("%s kserve-demo: %s", verb, r)
		}
	}
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Weekday().String()[:3]
	window := tomorrow + " 00:00-23:59 UTC"
	if out, err := exec.Command("kubectl", "--kubeconfig", s.Kubeconfig, "annotate", "application", "kserve-demo", "-n", sandbox.ArgoCDNamespace,
		"--overwrite", "costgate.aidev.io/uptime="+window).CombinedOutput(); err != nil {
		t.Fatalf("kubectl annotate: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("kubectl", "--kubeconfig", s.Kubeconfig, "annotate", "application", "kserve-demo", "-n", sandbox.ArgoCDNamespace, "costgate.aidev.io/uptime-").Run()
	})
	if _, err := s.WaitFor(wctx, isvcGVR, "kserve", "qwen-cpu", func(u *unstructured.Unstructured) (bool, error) {
		return u.GetAnnotations()["serving.kserve.io/stop"] == "true", nil
	}); err != nil {
		t.Fatalf("the watcher did not pause kserve-demo outside %q: %v", window, err)
	}
	testwait.Until(t, a.Lines, "watcher a to say it closed kserve-demo", func(s string) bool {
		l := parseLine(s)
		return l.Msg == "closed" && l.App == "kserve-demo" && l.Cause == "window"
	})

	// SIGTERM: a stops cleanly and releases the lease; b takes over. Of two
	// replicas, one acted: b closed nothing.
	if r := a.Stop(t, time.Minute); r.Code != 0 || !strings.Contains(r.Stderr, `"msg":"stopped"`) {
		t.Errorf("watcher a on SIGTERM: %s", r)
	}
	testwait.Until(t, b.Lines, "watcher b to take over", func(s string) bool { return parseLine(s).Msg == "leading" })
	if r := b.Stop(t, time.Minute); r.Code != 0 || strings.Contains(r.Stderr, `"msg":"closed"`) {
		t.Errorf("watcher b: %s", r)
	}
	if evs := closedEvents("raw-vllm"); len(evs) != 1 {
		t.Errorf("%d CostGateClosed Events on raw-vllm, want 1: two replicas acted", len(evs))
	}
}
