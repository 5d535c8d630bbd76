package gates

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// The argocd CLI (v3.6.1, the sandbox's own binary) runs the plugins as
// argocd-<name>. A user with only an Argo CD token, under the roles of
// deploy/argocd-rbac/policy.csv and with no Kubernetes credentials at all,
// works the gates through Argo CD's API; a viewer is refused before anything
// is written.
func TestArgoCDCLIServerMode(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clusters := filepath.Join(s.RepoDir, "clusters")
	argocdBin := filepath.Join(filepath.Dir(s.Env["KP_ARGOCD_CRDS"]), "bin", "argocd")
	server := s.Env["ARGOCD_SERVER"]

	// argocd runs the plugin with our environment: HOME holds an argocd config
	// at most, there is no kubeconfig anywhere.
	argocd := func(home string, env []string, args ...string) sandbox.Result {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, argocdBin, args...)
		cmd.Env = append([]string{"HOME=" + home, "PATH=" + sandbox.PluginDir() + string(os.PathListSeparator) + os.Getenv("PATH")}, env...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		r := sandbox.Result{Stdout: out.String(), Stderr: errOut.String()}
		if exit, ok := err.(*exec.ExitError); ok {
			r.Code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("argocd %v: %v", args, err)
		}
		return r
	}

	t.Run("help through the argocd binary speaks argocd", func(t *testing.T) {
		for _, plugin := range []string{"profile", "costgate", "smoke"} {
			r := argocd(t.TempDir(), nil, plugin, "--help")
			if r.Code != 0 || !strings.Contains(r.Stdout, "argocd "+plugin+" [command]") || strings.Contains(r.Stdout, "kubectl "+plugin) ||
				!strings.Contains(r.Stdout, "--kube-server") || !strings.Contains(r.Stdout, "--core") {
				t.Errorf("argocd %s --help:\n%s", plugin, r)
			}
		}
	})

	// The platform, applied and waited on as the admin does it.
	if r := s.Plugin(t, 5*time.Minute, "kubectl-profile", "apply", "full", "--prune", "--env", "sandbox", "--dir", clusters); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := s.Plugin(t, 5*time.Minute, "kubectl-profile", "wait", "full", "--env", "sandbox", "--dir", clusters); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}

	// Two local accounts with API keys, bound to the shipped roles.
	policy, err := os.ReadFile(filepath.Join(s.ProjectDir, "deploy", "argocd-rbac", "policy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	cms := s.Kube.CoreV1().ConfigMaps(sandbox.ArgoCDNamespace)
	rbac, err := cms.Get(ctx, "argocd-rbac-cm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := rbac.Data["policy.csv"]
	patch := func(name string, data map[string]string) {
		t.Helper()
		body := `{"data":{`
		first := true
		for k, v := range data {
			if !first {
				body += ","
			}
			first = false
			body += fmt.Sprintf("%q:%q", k, v)
		}
		body += "}}"
		if _, err := cms.Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch("argocd-cm", map[string]string{"accounts.oncall": "apiKey", "accounts.viewer": "apiKey"})
	// The sandbox's own gates beside ai-dev's, granted as policy.csv grants those.
	sandboxGates := ""
	for _, line := range []string{"sync, platform/vector-store", "update, platform/vector-store", "update/apps/StatefulSet/*, platform/vector-store",
		"sync, platform/batch-embedder", "update, platform/batch-embedder", "update/sandbox.aidev.io/Model/*, platform/batch-embedder"} {
		sandboxGates += "p, role:aidev-oncall, applications, " + line + ", allow\n"
	}
	patch("argocd-rbac-cm", map[string]string{"policy.csv": before + string(policy) + sandboxGates + "g, oncall, role:aidev-oncall\ng, viewer, role:aidev-viewer\n"})
	t.Cleanup(func() { patch("argocd-rbac-cm", map[string]string{"policy.csv": before}) })

	admin, err := s.ArgoCDToken()
	if err != nil {
		t.Fatal(err)
	}
	var oncall, viewer string
	waitFor(t, time.Minute, func() bool { // argocd-server reads the new accounts from its informer
		a := argocd(t.TempDir(), nil, "account", "generate-token", "--account", "oncall", "--server", server, "--plaintext", "--auth-token", admin)
		b := argocd(t.TempDir(), nil, "account", "generate-token", "--account", "viewer", "--server", server, "--plaintext", "--auth-token", admin)
		oncall, viewer = strings.TrimSpace(a.Stdout), strings.TrimSpace(b.Stdout)
		return a.Code == 0 && b.Code == 0
	})
	waitFor(t, time.Minute, func() bool { // and the policy
		r := argocd(t.TempDir(), nil, "account", "can-i", "sync", "applications", "platform/raw-vllm", "--server", server, "--plaintext", "--auth-token", oncall)
		return strings.TrimSpace(r.Stdout) == "yes"
	})

	// The on-call user: an argocd config in HOME (as `argocd login` writes it),
	// nothing else.
	home := t.TempDir()
	config := fmt.Sprintf("contexts:\n- name: sandbox\n  server: %s\n  user: sandbox\ncurrent-context: sandbox\nservers:\n- server: %s\n  plain-text: true\nusers:\n- name: sandbox\n  auth-token: %s\n", server, server, oncall)
	if err := os.MkdirAll(filepath.Join(home, ".config", "argocd"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".config", "argocd", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	gate := func(args ...string) sandbox.Result {
		t.Helper()
		r := argocd(home, nil, append(append([]string{"costgate"}, args...), "--env", "sandbox", "--dir", clusters)...)
		if strings.Contains(r.Stdout+r.Stderr, oncall) {
			t.Fatal("the token was printed")
		}
		return r
	}
	deployments := s.Kube.AppsV1().Deployments("serving")
	replicas := func() int32 {
		d, err := deployments.Get(ctx, "raw-vllm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}

	if r := gate("list"); r.Code != 0 || !strings.Contains(r.Stdout, "raw-vllm") || !strings.Contains(r.Stdout, "kserve-demo") {
		t.Fatalf("list: %s", r)
	}
	if r := gate("up", "raw-vllm", "--timeout", "2m"); r.Code != 0 || replicas() != 1 {
		t.Fatalf("up raw-vllm: replicas %d: %s", replicas(), r)
	}
	if r := gate("down", "raw-vllm", "--timeout", "2m"); r.Code != 0 || replicas() != 0 {
		t.Fatalf("down raw-vllm: replicas %d: %s", replicas(), r)
	}
	// idle: decisions from Prometheus (--prometheus-url), the close through
	// Argo CD. raw-vllm, open longer than its window, served nothing in it.
	if r := gate("up", "raw-vllm", "--timeout", "2m"); r.Code != 0 || replicas() != 1 {
		t.Fatalf("up raw-vllm again: %s", r)
	}
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE vllm:request_success_total counter\nvllm:request_success_total{namespace=\"serving\",pod=\"raw-vllm-7d9f\"} 42\n")
	}))
	defer metrics.Close()
	prom := sandbox.StartPrometheus(t, strings.TrimPrefix(metrics.URL, "http://"))
	waitFor(t, time.Minute, func() bool { // a full window of samples
		v, ok, err := (&pcostgate.DirectPrometheus{URL: prom}).Query(ctx, `count_over_time(vllm:request_success_total[8s])`)
		return err == nil && ok && v >= 7
	})
	if r := gate("idle", "--prometheus-url", prom, "--idle-after", "8s"); r.Code != 0 ||
		!strings.Contains(r.Stdout, "closed raw-vllm (Deployment/serving/raw-vllm): no requests in the last 8s") || replicas() != 0 {
		t.Fatalf("idle through Argo CD: replicas %d: %s", replicas(), r)
	}
	// idle does not wait for the pods to go; down (already closed) does, so the
	// gate tests after this one find none.
	if r := gate("down", "raw-vllm", "--timeout", "2m"); r.Code != 0 || !strings.Contains(r.Stdout, "raw-vllm: down") {
		t.Fatalf("down after idle: %s", r)
	}
	isvcs := s.Dynamic.Resource(isvcGVR).Namespace("kserve")
	stop := func() string {
		o, err := isvcs.Get(ctx, "qwen-cpu", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return o.GetAnnotations()["serving.kserve.io/stop"]
	}
	if r := gate("sync", "kserve-demo"); r.Code != 0 || !strings.Contains(r.Stderr, "syncing (server mode)") {
		t.Fatalf("sync kserve-demo: %s", r)
	}
	if r := gate("pause", "kserve-demo", "--timeout", "2m"); r.Code != 0 || stop() != "true" {
		t.Fatalf("pause kserve-demo: stop=%q: %s", stop(), r)
	}
	if r := gate("resume", "kserve-demo", "--timeout", "2m"); r.Code != 0 || stop() != "" {
		t.Fatalf("resume kserve-demo: stop=%q: %s", stop(), r)
	}
	// A sync gate: the on-call role syncs it and closes it (delete/* on the
	// app: Argo CD 3's fine-grained delete of each object it deployed).
	if r := gate("sync", "inference-demo"); r.Code != 0 {
		t.Fatalf("sync inference-demo: %s", r)
	}
	demo := s.Kube.AppsV1().Deployments("inference-demo")
	if r := gate("down", "inference-demo", "--timeout", "2m"); r.Code != 0 || !strings.Contains(r.Stdout, "inference-demo: deleted Deployment inference-demo/inference-demo") ||
		!strings.Contains(r.Stdout, "inference-demo: down") {
		t.Fatalf("down inference-demo: %s", r)
	}
	if _, err := demo.Get(ctx, "inference-demo", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("down inference-demo returned with its Deployment there: %v", err)
	}
	// The gate tests after this one start from a platform nobody opened: the
	// InferenceService goes again, as before its first sync.
	t.Cleanup(func() {
		if err := isvcs.Delete(ctx, "qwen-cpu", metav1.DeleteOptions{}); err != nil {
			t.Errorf("removing qwen-cpu: %v", err)
			return
		}
		waitFor(t, time.Minute, func() bool {
			_, err := isvcs.Get(ctx, "qwen-cpu", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	})
	// The profile and the doctor, from the same argocd config.
	if r := argocd(home, nil, "profile", "wait", "full", "--timeout", "2m", "--env", "sandbox", "--dir", clusters); r.Code != 0 ||
		!strings.Contains(r.Stdout, "profile full: ") {
		t.Errorf("argocd profile wait full: %s", r)
	}
	if r := argocd(home, nil, "profile", "status", "-o", "json", "--env", "sandbox", "--dir", clusters); r.Code != 0 || !strings.Contains(r.Stdout, `"appliedProfile": "full"`) {
		t.Errorf("argocd profile status: %s", r)
	}
	r := argocd(home, nil, "smoke", "doctor", "--profile", "serving", "--env", "sandbox", "--dir", clusters)
	for _, want := range []string{"argocd-server          PASS", "argocd-token           PASS     the token is oncall's", "profile-apps           PASS",
		"argocd-rbac            PASS", "serving-secrets        SKIP     needs the Kubernetes API"} {
		if r.Code != 0 || !strings.Contains(r.Stdout, want) {
			t.Errorf("argocd smoke doctor lacks %q: %s", want, r)
		}
	}

	// The in-cluster Prometheus Service is reached through the Kubernetes API:
	// in server mode without --prometheus-url idle says so, and still closes
	// what leases and windows say (nothing here).
	if r := gate("idle"); r.Code != 0 || !strings.Contains(r.Stderr, "in server mode the traffic decisions need --prometheus-url") ||
		!strings.Contains(r.Stderr, "closing only what leases and uptime windows say") {
		t.Errorf("idle in server mode: %s", r)
	}

	// The viewer, through ARGOCD_SERVER / ARGOCD_AUTH_TOKEN / ARGOCD_OPTS and no
	// config file: sees the gates, may not open one, and nothing is written.
	env := []string{"ARGOCD_SERVER=" + server, "ARGOCD_AUTH_TOKEN=" + viewer, "ARGOCD_OPTS=--plaintext --loglevel warn"}
	view := func(args ...string) sandbox.Result {
		return argocd(t.TempDir(), env, append(append([]string{"costgate"}, args...), "--env", "sandbox", "--dir", clusters)...)
	}
	if r := view("list"); r.Code != 0 || !strings.Contains(r.Stdout, "raw-vllm") {
		t.Fatalf("viewer list: %s", r)
	}
	d, _ := deployments.Get(ctx, "raw-vllm", metav1.GetOptions{})
	r = view("up", "raw-vllm")
	if r.Code != 1 || !strings.Contains(r.Stderr, "applications, update/apps/Deployment/serving/raw-vllm, platform/raw-vllm") || !strings.Contains(r.Stderr, "nothing changed") {
		t.Errorf("viewer up: want the missing Argo CD permission: %s", r)
	}
	if after, _ := deployments.Get(ctx, "raw-vllm", metav1.GetOptions{}); after.ResourceVersion != d.ResourceVersion {
		t.Error("a refused up changed the Deployment")
	}
	// Nor close a sync gate: Argo CD's fine-grained delete cannot be asked
	// beforehand, so the first delete is the check, and nothing is deleted.
	if r := gate("sync", "inference-demo"); r.Code != 0 {
		t.Fatalf("sync inference-demo again: %s", r)
	}
	t.Cleanup(func() {
		if r := gate("down", "inference-demo", "--timeout", "2m"); r.Code != 0 {
			t.Errorf("closing inference-demo again: %s", r)
		}
	})
	demoBefore, err := demo.Get(ctx, "inference-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r = view("down", "inference-demo")
	if r.Code != 1 || !strings.Contains(r.Stderr, "nothing deleted: missing Argo CD permission") ||
		!strings.Contains(r.Stderr, "applications, update, platform/inference-demo") {
		t.Errorf("viewer down of a sync gate: want the missing Argo CD permission: %s", r)
	}
	if after, err := demo.Get(ctx, "inference-demo", metav1.GetOptions{}); err != nil || after.UID != demoBefore.UID || after.DeletionTimestamp != nil {
		t.Errorf("a refused down touched the Deployment: %v", err)
	}
}
