package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// The platform's Applications all live in Argo CD's namespace and share one
// AppProject, so the profile tests run one after the other, in this one test.
func TestProfileLifecycle(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	profile := func(timeout time.Duration, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, "kubectl-profile", append(args, "--env", "sandbox", "--dir", clusters)...)
	}
	ctx := context.Background()
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	appsets := s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace)

	t.Run("apply full then wait full converges, gated apps deploy nothing", func(t *testing.T) {
		r := profile(time.Minute, "apply", "full")
		if r.Code != 0 {
			t.Fatalf("apply full: %s", r)
		}
		for _, l := range []string{"platform", "serving", "routing", "llm-gateway", "experience", "demos"} {
			if !strings.Contains(r.Stdout, "applicationset.argoproj.io/layer-"+l+" ") {
				t.Errorf("apply full did not apply layer %s:\n%s", l, r.Stdout)
			}
		}
		r = profile(6*time.Minute, "wait", "full", "--timeout", "5m")
		if r.Code != 0 || !strings.Contains(r.Stdout, "Synced and Healthy (9 gated") {
			t.Fatalf("wait full: %s", r)
		}
		// Gated: the Application exists, yet nothing of it runs. (coder-agent: no
		// other test syncs it; the costgate tests open raw-vllm.)
		if _, err := apps.Get(ctx, "coder-agent", metav1.GetOptions{}); err != nil {
			t.Fatalf("gated app coder-agent should exist after apply: %v", err)
		}
		if _, err := s.Kube.AppsV1().Deployments("coding-assistant").Get(ctx, "coder-agent", metav1.GetOptions{}); err == nil {
			t.Error("Deployment coding-assistant/coder-agent exists although nobody synced its gate")
		}
	})

	t.Run("diff is empty after apply and shows a manual edit", func(t *testing.T) {
		if r := profile(time.Minute, "diff", "full"); r.Code != 0 {
			t.Fatalf("diff right after apply: %s", r)
		}
		patch := `{"spec":{"goTemplateOptions":["missingkey=zero"]}}`
		if _, err := appsets.Patch(ctx, "layer-demos", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "e2e-hand-edit"}); err != nil {
			t.Fatal(err)
		}
		r := profile(time.Minute, "diff", "full")
		if r.Code != 1 || !strings.Contains(r.Stdout, "layer-demos") || !strings.Contains(r.Stdout, "- ") || !strings.Contains(r.Stdout, "missingkey=error") {
			t.Fatalf("diff after a hand edit: want exit 1 and the changed line:\n%s", r)
		}
		if r := profile(time.Minute, "apply", "full"); r.Code != 0 || !strings.Contains(r.Stdout, "layer-demos configured") {
			t.Fatalf("apply after the hand edit: %s", r)
		}
		if r := profile(time.Minute, "diff", "full"); r.Code != 0 {
			t.Fatalf("diff after re-apply: %s", r)
		}
	})

	t.Run("apply serving --prune removes the wider layers in reverse order", func(t *testing.T) {
		r := profile(8*time.Minute, "apply", "serving", "--prune", "--timeout", "5m")
		if r.Code != 0 {
			t.Fatalf("apply serving --prune: %s", r)
		}
		order := []string{"layer-demos pruned", "layer-experience pruned", "layer-llm-gateway pruned", "layer-routing pruned"}
		last := -1
		for _, o := range order {
			i := strings.Index(r.Stdout, o)
			if i < 0 || i < last {
				t.Fatalf("want %q in reverse bring-up order:\n%s", order, r.Stdout)
			}
			last = i
		}
		if i := strings.Index(r.Stdout, "pruning 4 layer(s)"); i < 0 || i > strings.Index(r.Stdout, order[0]) {
			t.Errorf("it must say what it deletes before deleting:\n%s", r.Stdout)
		}
		live, err := appsets.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range live.Items {
			names = append(names, a.GetName())
		}
		if strings.Join(names, ",") != "layer-platform,layer-serving" {
			t.Errorf("live ApplicationSets after pruning: %v, want layer-platform and layer-serving", names)
		}
		for _, gone := range []string{"group-routing-core", "litellm", "open-webui", "inference-demo"} {
			if _, err := apps.Get(ctx, gone, metav1.GetOptions{}); err == nil {
				t.Errorf("Application %s of a pruned layer is still there", gone)
			}
		}
		// What stays is intact and still converged.
		if r := profile(3*time.Minute, "wait", "serving", "--timeout", "2m"); r.Code != 0 {
			t.Fatalf("platform and serving after pruning: %s", r)
		}
	})

	t.Run("wait survives a kube-apiserver restart", func(t *testing.T) {
		// With the application-controller stopped, nothing the apply adds can become
		// Synced: the wait must outlive the API server's restart to succeed.
		if err := s.Component("stop", "argocd-application-controller"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Component("start", "argocd-application-controller") })
		if r := profile(time.Minute, "apply", "full"); r.Code != 0 {
			t.Fatalf("apply full: %s", r)
		}
		cmd := exec.Command(filepath.Join(pluginBinDir(t), "kubectl-profile"), "wait", "full", "--timeout", "5m", "--env", "sandbox", "--dir", clusters)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		lines := bufio.NewScanner(stdout)
		var out strings.Builder
		if !lines.Scan() { // the first progress line: it has listed and is watching
			t.Fatalf("wait printed nothing: %s", stderr.String())
		}
		out.WriteString(lines.Text() + "\n")
		if err := s.Component("restart", "kube-apiserver"); err != nil {
			t.Fatal(err)
		}
		if err := s.Component("start", "argocd-application-controller"); err != nil {
			t.Fatal(err)
		}
		for lines.Scan() {
			out.WriteString(lines.Text() + "\n")
		}
		err = cmd.Wait()
		if err != nil || !strings.Contains(out.String(), "profile full: 43 apps Synced and Healthy") {
			t.Fatalf("wait across the restart: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
		}
	})

	t.Run("disabling a feature prunes its group through Argo CD", func(t *testing.T) {
		configPath := filepath.Join(clusters, "sandbox", "config.yaml")
		original, err := os.ReadFile(configPath)
		if err != nil {
			t.Fatal(err)
		}
		setFeature := func(value string) {
			t.Helper()
			content := strings.Replace(string(original), "opencost: true", "opencost: "+value, 1)
			if err := os.WriteFile(configPath, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if r := profile(time.Minute, "resolve"); r.Code != 0 {
				t.Fatalf("resolve: %s", r)
			}
			if _, err := s.CommitToRepo("e2e: opencost "+value, nil); err != nil {
				t.Fatal(err)
			}
			// Ask the ApplicationSet controller to read the repository now.
			refresh := `{"metadata":{"annotations":{"argocd.argoproj.io/application-set-refresh":"true"}}}`
			if _, err := appsets.Patch(ctx, "layer-platform", types.MergePatchType, []byte(refresh), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		setFeature("false")
		t.Cleanup(func() { _ = os.WriteFile(configPath, original, 0o644) })
		if r := profile(time.Minute, "resolve", "--check"); r.Code != 0 {
			t.Errorf("resolve --check right after resolve: %s", r)
		}
		wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		for _, name := range []string{"group-opencost", "opencost"} {
			if err := s.WaitGone(wctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, name); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Kube.AppsV1().Deployments("opencost").Get(ctx, "opencost", metav1.GetOptions{}); err == nil {
			t.Error("the disabled group's Deployment opencost/opencost is still there")
		}
		setFeature("true")
		if _, err := s.WaitFor(wctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, "opencost", func(u *unstructured.Unstructured) (bool, error) {
			st := argocd.StatusOf(u)
			sync, health := st.Sync, st.Health
			return sync == "Synced" && health == "Healthy", nil
		}); err != nil {
			t.Fatalf("re-enabling opencost: %v", err)
		}
	})
}

func pluginBinDir(t *testing.T) string {
	t.Helper()
	dir := sandbox.PluginDir()
	if dir == "" {
		t.Fatal("plugins not built")
	}
	return dir
}
