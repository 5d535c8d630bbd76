package gates

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// waitFor polls a condition that has no watch to follow (a Prometheus query).
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		<-tick.C
	}
}

var (
	isvcGVR         = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}
	scaledObjectGVR = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}
)

// The gates share the platform with the profile tests, so they run in order here.
func TestCostgateLifecycle(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	run := func(timeout time.Duration, plugin string, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, plugin, append(args, "--env", "sandbox", "--dir", clusters)...)
	}
	costgate := func(args ...string) sandbox.Result {
		t.Helper()
		return run(3*time.Minute, "kubectl-costgate", args...)
	}
	ctx := context.Background()
	deployments := s.Kube.AppsV1().Deployments("serving")
	// replicas reads raw-vllm's count, and its gate's record on the Application.
	replicas := func() (int32, map[string]string) {
		t.Helper()
		d, err := deployments.Get(ctx, "raw-vllm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		app, err := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace).Get(ctx, "raw-vllm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas, app.GetAnnotations()
	}

	if r := run(time.Minute, "kubectl-profile", "apply", "full"); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := run(6*time.Minute, "kubectl-profile", "wait", "full", "--timeout", "5m"); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}

	t.Run("after apply no gated workload runs", func(t *testing.T) {
		r := costgate("list", "-o", "json")
		if r.Code != 0 {
			t.Fatal(r)
		}
		for _, app := range []string{"raw-vllm", "coder-chat", "coder-fim", "coder-agent", "kserve-demo", "inference-demo", "n8n"} {
			if !strings.Contains(r.Stdout, `"app": "`+app+`"`) {
				t.Errorf("list lacks %s:\n%s", app, r.Stdout)
			}
		}
		if strings.Contains(r.Stdout, `"state": "up"`) || strings.Contains(r.Stdout, `"state": "starting"`) {
			t.Errorf("a gate is open right after apply:\n%s", r.Stdout)
		}
		pods, err := s.Kube.CoreV1().Pods("serving").List(ctx, metav1.ListOptions{})
		if err != nil || len(pods.Items) != 0 {
			t.Errorf("pods in serving before anyone asked: %d (%v)", len(pods.Items), err)
		}
	})

	t.Run("sync deploys raw-vllm at 0 replicas", func(t *testing.T) {
		r := costgate("sync", "raw-vllm")
		if r.Code != 0 || !strings.Contains(r.Stdout, "sync raw-vllm: Succeeded") || !strings.Contains(r.Stdout, "Deployment") {
			t.Fatalf("sync: %s", r)
		}
		if n, _ := replicas(); n != 0 {
			t.Fatalf("raw-vllm has %d replicas after sync, want git's 0", n)
		}
	})

	t.Run("up brings one pod Ready on the GPU node", func(t *testing.T) {
		r := costgate("up", "raw-vllm")
		if r.Code != 0 || !strings.Contains(r.Stdout, "Deployment/serving/raw-vllm 0 -> 1") || !strings.Contains(r.Stdout, "raw-vllm: up") {
			t.Fatalf("up: %s", r)
		}
		pods, err := s.Kube.CoreV1().Pods("serving").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=raw-vllm"})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("pods: %v %v", pods, err)
		}
		p := pods.Items[0]
		node, err := s.Kube.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil || node.Labels["nvidia.com/gpu.present"] != "true" {
			t.Errorf("raw-vllm runs on %q, not the GPU node (%v)", p.Spec.NodeName, err)
		}
		if !podReady(p) {
			t.Errorf("pod %s is not Ready after up returned", p.Name)
		}
	})

	t.Run("a sync and the controller's own refresh keep the replicas", func(t *testing.T) {
		if r := costgate("sync", "raw-vllm"); r.Code != 0 {
			t.Fatalf("second sync: %s", r)
		}
		if n, _ := replicas(); n != 1 {
			t.Fatalf("a sync reset raw-vllm to %d replicas: RespectIgnoreDifferences did not hold", n)
		}
		// A normal refresh is what the controller's periodic resync does.
		apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
		before, _ := apps.Get(ctx, "raw-vllm", metav1.GetOptions{})
		at, _, _ := unstructured.NestedString(before.Object, "status", "reconciledAt")
		patch := `{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"normal"}}}`
		if _, err := apps.Patch(ctx, "raw-vllm", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		app, err := s.WaitFor(wctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, "raw-vllm", func(u *unstructured.Unstructured) (bool, error) {
			now, _, _ := unstructured.NestedString(u.Object, "status", "reconciledAt")
			_, pending := u.GetAnnotations()["argocd.argoproj.io/refresh"]
			return now != at && !pending, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if st := argocd.StatusOf(app); st.Sync != "Synced" {
			t.Errorf("after a refresh raw-vllm is %s: the scaled replicas show as drift", st.Sync)
		}
		if n, _ := replicas(); n != 1 {
			t.Errorf("raw-vllm has %d replicas after a refresh, want 1", n)
		}
	})

	t.Run("down restores 0 and up restores the remembered count", func(t *testing.T) {
		// Two replicas on a one-GPU node: the second pod stays Pending, and up says why.
		r := costgate("up", "raw-vllm", "--replicas", "2", "--timeout", "15s")
		if r.Code != 1 || !strings.Contains(r.Stderr, "Insufficient nvidia.com/gpu") {
			t.Fatalf("up --replicas 2 on one GPU: want a timeout that names the missing GPU: %s", r)
		}
		if r := costgate("down", "raw-vllm"); r.Code != 0 || !strings.Contains(r.Stdout, "2 -> 0") || !strings.Contains(r.Stdout, "raw-vllm: down") {
			t.Fatalf("down: %s", r)
		}
		n, ann := replicas()
		if n != 0 || ann["costgate.aidev.io/previous-replicas"] != "2" {
			t.Fatalf("after down: %d replicas, annotations %v", n, ann)
		}
		if pods, _ := s.Kube.CoreV1().Pods("serving").List(ctx, metav1.ListOptions{}); len(pods.Items) != 0 {
			t.Errorf("down returned with %d pods left", len(pods.Items))
		}
		if r := costgate("up", "raw-vllm", "--wait=false"); r.Code != 0 || !strings.Contains(r.Stdout, "0 -> 2") {
			t.Fatalf("up after down: %s", r)
		}
		if r := costgate("down", "raw-vllm"); r.Code != 0 {
			t.Fatal(r)
		}
		if r := costgate("up", "raw-vllm", "--replicas", "1"); r.Code != 0 {
			t.Fatal(r)
		}
	})

	t.Run("up on an open gate keeps its count", func(t *testing.T) {
		if r := costgate("up", "raw-vllm", "--replicas", "2", "--wait=false"); r.Code != 0 {
			t.Fatalf("up --replicas 2: %s", r)
		}
		r := costgate("up", "raw-vllm", "--wait=false")
		if r.Code != 0 || !strings.Contains(r.Stdout, "already 2") {
			t.Fatalf("up on a gate open at 2: %s", r)
		}
		if n, _ := replicas(); n != 2 {
			t.Fatalf("up on an open gate changed it to %d replicas", n)
		}
		if r := costgate("down", "raw-vllm"); r.Code != 0 {
			t.Fatal(r)
		}
		if r := costgate("up", "raw-vllm", "--wait=false"); r.Code != 0 || !strings.Contains(r.Stdout, "0 -> 2") {
			t.Fatalf("up after down restores the remembered 2: %s", r)
		}
		if r := costgate("up", "raw-vllm", "--replicas", "100000", "--wait=false"); r.Code == 0 || !strings.Contains(r.Stderr, "max-replicas") {
			t.Errorf("--replicas above the gate's bound: %s", r)
		}
		// Leave 1 remembered: the sandbox has one GPU, later tests wait for 1/1.
		if r := costgate("up", "raw-vllm", "--replicas", "1", "--wait=false"); r.Code != 0 {
			t.Fatal(r)
		}
		if r := costgate("down", "raw-vllm"); r.Code != 0 {
			t.Fatal(r)
		}
	})

	t.Run("20 concurrent up and down end consistent, with no raw conflict error", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([]sandbox.Result, 20)
		for i := range results {
			verb := []string{"up", "down"}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = s.Plugin(t, 2*time.Minute, "kubectl-costgate", verb, "raw-vllm", "--wait=false", "--env", "sandbox", "--dir", clusters)
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.Code != 0 || strings.Contains(r.Stderr, "has been modified") {
				t.Errorf("run %d: %s", i, r)
			}
		}
		// The record (on the Application) and the replicas agree: open and
		// recorded, or closed with nothing recorded but the count to restore.
		n, ann := replicas()
		_, opened := ann["costgate.aidev.io/opened-at"]
		_, by := ann["costgate.aidev.io/opened-by"]
		prev := ann["costgate.aidev.io/previous-replicas"]
		switch {
		case n == 0 && prev != "" && !opened && !by:
		case n > 0 && opened && by:
		default:
			t.Fatalf("inconsistent: %d replicas, annotations %v", n, ann)
		}
		if r := costgate("down", "raw-vllm"); r.Code != 0 {
			t.Fatal(r)
		}
	})

	t.Run("pause survives a sync and resume removes it", func(t *testing.T) {
		if r := costgate("sync", "kserve-demo"); r.Code != 0 && !strings.Contains(r.Stdout, "Succeeded") {
			t.Fatalf("sync kserve-demo: %s", r)
		}
		isvcs := s.Dynamic.Resource(isvcGVR).Namespace("kserve")
		stop := func() string {
			t.Helper()
			u, err := isvcs.Get(ctx, "qwen-cpu", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return u.GetAnnotations()["serving.kserve.io/stop"]
		}
		if r := costgate("pause", "kserve-demo"); r.Code != 0 || !strings.Contains(r.Stdout, "running -> paused") {
			t.Fatalf("pause: %s", r)
		}
		if stop() != "true" {
			t.Fatal("pause did not set serving.kserve.io/stop")
		}
		if r := costgate("sync", "kserve-demo"); !strings.Contains(r.Stdout, "sync kserve-demo:") {
			t.Fatalf("sync after pause: %s", r)
		}
		if stop() != "true" {
			t.Fatal("a sync removed serving.kserve.io/stop")
		}
		if r := costgate("list", "-o", "json"); !strings.Contains(r.Stdout, `"state": "paused"`) {
			t.Errorf("list does not show kserve-demo paused:\n%s", r.Stdout)
		}
		if r := costgate("resume", "kserve-demo"); r.Code != 0 || !strings.Contains(r.Stdout, "paused -> running") {
			t.Fatalf("resume: %s", r)
		}
		if stop() != "" {
			t.Fatal("resume left serving.kserve.io/stop")
		}
	})

	t.Run("server mode syncs through argocd-server with a token", func(t *testing.T) {
		token, err := s.ArgoCDToken()
		if err != nil {
			t.Fatal(err)
		}
		server := []string{"--argocd-server", s.Env["ARGOCD_SERVER"], "--plaintext"}
		apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
		before, _ := apps.Get(ctx, "n8n", metav1.GetOptions{})

		bad := costgate(append([]string{"sync", "n8n", "--auth-token", "not-" + token}, server...)...)
		if bad.Code != 1 || !strings.Contains(bad.Stderr, "refused the token (401 Unauthenticated)") {
			t.Fatalf("wrong token: want a clear 401: %s", bad)
		}
		if strings.Contains(bad.Stdout+bad.Stderr, token) {
			t.Fatal("the token was printed")
		}
		after, _ := apps.Get(ctx, "n8n", metav1.GetOptions{})
		if after.GetResourceVersion() != before.GetResourceVersion() {
			t.Error("a refused server-mode sync changed the Application")
		}

		ok := costgate(append([]string{"sync", "n8n", "--auth-token", token}, server...)...)
		if ok.Code != 0 || !strings.Contains(ok.Stderr, "syncing (server mode)") || !strings.Contains(ok.Stdout, "sync n8n: Succeeded") {
			t.Fatalf("server-mode sync: %s", ok)
		}
		if strings.Contains(ok.Stdout+ok.Stderr, token) {
			t.Fatal("the token was printed")
		}
		synced, _ := apps.Get(ctx, "n8n", metav1.GetOptions{})
		if by, _, _ := unstructured.NestedString(synced.Object, "status", "operationState", "operation", "initiatedBy", "username"); by != "admin" {
			t.Errorf("the sync was initiated by %q, want the token's user admin", by)
		}

		gone := costgate("sync", "n8n", "--argocd-server", "127.0.0.1:1", "--plaintext", "--auth-token", token)
		if gone.Code != 1 || !strings.Contains(gone.Stderr, "cannot reach the Argo CD server at 127.0.0.1:1") {
			t.Errorf("unreachable server: %s", gone)
		}
	})

	t.Run("idle closes the gate without traffic and keeps the busy one", func(t *testing.T) {
		// raw-vllm takes the one GPU; coder-chat opens too, its pod waiting for a GPU (starting).
		if r := costgate("up", "raw-vllm"); r.Code != 0 {
			t.Fatalf("up raw-vllm: %s", r)
		}
		if r := costgate("up", "coder-chat", "--wait=false"); r.Code != 0 {
			t.Fatalf("up coder-chat: %s", r)
		}
		t.Cleanup(func() { costgate("down", "coder-chat", "--wait=false") })
		// vLLM's counter: raw-vllm served nothing lately, coder-chat serves on every scrape.
		var served atomic.Int64
		metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := served.Add(3)
			fmt.Fprintf(w, "# TYPE vllm:request_success_total counter\n")
			fmt.Fprintf(w, "vllm:request_success_total{namespace=\"serving\",pod=\"raw-vllm-7d9f\"} 42\n")
			fmt.Fprintf(w, "vllm:request_success_total{namespace=\"coding-assistant\",pod=\"coder-chat-5c2a\"} %d\n", n)
		}))
		defer metrics.Close()
		prom := sandbox.StartPrometheus(t, strings.TrimPrefix(metrics.URL, "http://"))
		const window = "8s"
		// Condition: Prometheus holds a full window of samples for both series.
		waitFor(t, time.Minute, func() bool {
			v, ok, err := (&pcostgate.DirectPrometheus{URL: prom}).Query(ctx, `min(count_over_time(vllm:request_success_total[`+window+`]))`)
			return err == nil && ok && v >= 7
		})
		idle := []string{"idle", "--prometheus-url", prom, "--idle-after", window}
		dry := costgate(append(idle, "--dry-run")...)
		if dry.Code != 0 || !strings.Contains(dry.Stdout, "would close raw-vllm") || !strings.Contains(dry.Stdout, "kept coder-chat") {
			t.Fatalf("idle --dry-run: %s", dry)
		}
		if n, _ := replicas(); n != 1 {
			t.Fatal("--dry-run closed raw-vllm")
		}
		r := costgate(idle...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "closed raw-vllm (Deployment/serving/raw-vllm): no requests in the last 8s") ||
			!strings.Contains(r.Stdout, "kept coder-chat") || !strings.Contains(r.Stdout, "requests in the last 8s") {
			t.Fatalf("idle: %s", r)
		}
		if n, _ := replicas(); n != 0 {
			t.Errorf("idle did not close raw-vllm (%d replicas)", n)
		}
		chat, err := s.Kube.AppsV1().Deployments("coding-assistant").Get(ctx, "coder-chat", metav1.GetOptions{})
		if err != nil || *chat.Spec.Replicas != 1 {
			t.Errorf("idle closed the busy coder-chat: %v %v", chat.Spec.Replicas, err)
		}
		// The end of the day: every open gate closes.
		if r := costgate("down", "--all"); r.Code != 0 || !strings.Contains(r.Stdout, "coder-chat: down") {
			t.Fatalf("down --all: %s", r)
		}
		if chat, err = s.Kube.AppsV1().Deployments("coding-assistant").Get(ctx, "coder-chat", metav1.GetOptions{}); err != nil || *chat.Spec.Replicas != 0 {
			t.Errorf("down --all left coder-chat open: %v", err)
		}
		if r := costgate("down", "--all"); r.Code != 0 || !strings.Contains(r.Stdout, "no open gates") {
			t.Errorf("down --all with nothing open: %s", r)
		}
	})

	t.Run("bad input is refused and writes nothing", func(t *testing.T) {
		_, before := replicas()
		d0, _ := deployments.Get(ctx, "raw-vllm", metav1.GetOptions{})
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"up", "gpt-5"}, `unknown app "gpt-5" in environment sandbox; gated apps: raw-vllm`},
			{[]string{"up", "litellm"}, `app "litellm" is not cost-gated`},
			{[]string{"pause", "raw-vllm"}, "raw-vllm is a scale gate, not a pause gate"},
			{[]string{"down", "coder-fim"}, "Deployment coding-assistant/coder-fim does not exist: sync the app first"},
			{[]string{"up", "raw-vllm", "--replicas", "2", "--wait=false", "--for", "0s"}, "--for 0s: must be positive"},
			{[]string{"down"}, "down takes one APP or --all"},
		} {
			r := costgate(tc.args...)
			if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%v: want exit 1 and %q: %s", tc.args, tc.want, r)
			}
		}
		// An unsafe gate: KEDA would own the replicas.
		sos := s.Dynamic.Resource(scaledObjectGVR).Namespace("serving")
		unpause := `{"metadata":{"annotations":{"autoscaling.keda.sh/paused":"false"}}}`
		if _, err := sos.Patch(ctx, "raw-vllm", types.MergePatchType, []byte(unpause), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		r := costgate("up", "raw-vllm")
		repause := `{"metadata":{"annotations":{"autoscaling.keda.sh/paused":"true"}}}`
		if _, err := sos.Patch(ctx, "raw-vllm", types.MergePatchType, []byte(repause), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if r.Code != 1 || !strings.Contains(r.Stderr, "refusing to scale raw-vllm: KEDA ScaledObject serving/raw-vllm") {
			t.Errorf("up with an unpaused ScaledObject: %s", r)
		}
		d1, _ := deployments.Get(ctx, "raw-vllm", metav1.GetOptions{})
		// The controllers keep writing its status; a write of ours would change
		// its spec (generation) or its annotations.
		if _, after := replicas(); d1.Generation != d0.Generation || fmt.Sprint(gateRecord(after)) != fmt.Sprint(gateRecord(before)) {
			t.Errorf("a refused command wrote: Deployment generation %d -> %d, gate record %v -> %v", d0.Generation, d1.Generation, gateRecord(before), gateRecord(after))
		}
	})
}

// gateRecord is what costgate records on a gate's Application (Argo CD
// writes other annotations of its own).
func gateRecord(ann map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range ann {
		if strings.HasPrefix(k, "costgate.aidev.io/") {
			out[k] = v
		}
	}
	return out
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
