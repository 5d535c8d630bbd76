package gates

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// Ctrl-C at several points of `profile apply --prune` and `costgate up`: each
// interrupted command exits 130 saying what it had done, and the same command
// run again finishes from the state it left (the real Argo CD controllers delete
// and sync meanwhile).
func TestInterruptedCommandsResume(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	envArgs := []string{"--env", "sandbox", "--dir", clusters}
	run := func(timeout time.Duration, plugin string, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, plugin, append(args, envArgs...)...)
	}
	interrupt := func(after, plugin string, args ...string) sandbox.Result {
		t.Helper()
		r, sent := s.PluginInterrupted(t, 5*time.Minute, after, plugin, append(args, envArgs...)...)
		if !sent {
			t.Fatalf("%s %v ended before %q appeared: %s", plugin, args, after, r)
		}
		if r.Code != 130 || !strings.Contains(r.Stderr, "interrupted") {
			t.Fatalf("%s %v after %q: want exit 130 saying it was interrupted:\n%s", plugin, args, after, r)
		}
		return r
	}
	ctx := context.Background()
	appsets := s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace)
	liveSets := func() string {
		t.Helper()
		list, err := appsets.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range list.Items {
			if a.GetDeletionTimestamp() == nil {
				names = append(names, a.GetName())
			}
		}
		sort.Strings(names)
		return strings.Join(names, ",")
	}
	const all = "layer-demos,layer-experience,layer-llm-gateway,layer-platform,layer-routing,layer-serving"

	if r := run(time.Minute, "kubectl-profile", "apply", "full"); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := run(6*time.Minute, "kubectl-profile", "wait", "full", "--timeout", "5m"); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}

	t.Run("apply --prune interrupted while deleting the first layer, then apply full waits it out", func(t *testing.T) {
		r := interrupt("deleting applicationset.argoproj.io/layer-demos", "kubectl-profile", "apply", "llm-gateway", "--prune", "--timeout", "5m")
		if !strings.Contains(r.Stderr, "interrupted while pruning applicationset.argoproj.io/layer-demos (0 of 2 layers pruned); run the same apply again to finish") {
			t.Errorf("message: %s", r.Stderr)
		}
		// layer-demos is being deleted (foreground): apply full must not report
		// it configured; it waits until it is gone and creates it again.
		r = run(6*time.Minute, "kubectl-profile", "apply", "full", "--timeout", "5m")
		if r.Code != 0 || !strings.Contains(r.Stdout, "applicationset.argoproj.io/layer-demos created") {
			t.Fatalf("apply full after the interrupted prune: %s", r)
		}
		if got := liveSets(); got != all {
			t.Errorf("ApplicationSets: %s, want %s", got, all)
		}
		if r := run(6*time.Minute, "kubectl-profile", "wait", "full", "--timeout", "5m"); r.Code != 0 {
			t.Fatalf("wait full: %s", r)
		}
	})

	t.Run("apply --prune interrupted after a layer is pruned, then the same apply finishes", func(t *testing.T) {
		r := interrupt("layer-demos pruned", "kubectl-profile", "apply", "llm-gateway", "--prune", "--timeout", "5m")
		if !strings.Contains(r.Stderr, "layers pruned); run the same apply again to finish") {
			t.Errorf("message: %s", r.Stderr)
		}
		r = run(8*time.Minute, "kubectl-profile", "apply", "llm-gateway", "--prune", "--timeout", "5m")
		if r.Code != 0 {
			t.Fatalf("apply llm-gateway --prune again: %s", r)
		}
		if got := liveSets(); got != "layer-llm-gateway,layer-platform,layer-routing,layer-serving" {
			t.Errorf("ApplicationSets after the second prune: %s", got)
		}
		if r := run(time.Minute, "kubectl-profile", "status", "-o", "json"); !strings.Contains(r.Stdout, `"appliedProfile": "llm-gateway"`) {
			t.Errorf("status after the prune: %s", r)
		}
	})

	// An object the API server rejects (an invalid name in one ApplicationSet)
	// fails the server-side dry run of the whole apply: no member is created and
	// the ApplySet parent keeps the profile that is really applied.
	t.Run("a rejected ApplicationSet leaves every resourceVersion unchanged", func(t *testing.T) {
		// A name the API server refuses (not a DNS subdomain); nothing before the
		// dry run checks names.
		broken := platformtest.CopyEnv(t, clusters, "sandbox", map[string]platformtest.Edit{
			"appsets/base/demos.yaml": platformtest.Replace(t, "name: layer-demos", "name: Layer_Demos"),
		})
		before := s.ProfileState(t)
		r := s.Plugin(t, time.Minute, "kubectl-profile", "apply", "full", "--env", "sandbox", "--dir", broken)
		if r.Code != 1 || !strings.Contains(r.Stderr, "nothing was written: the server-side dry run refused applicationset.argoproj.io/Layer_Demos") {
			t.Errorf("apply full with a rejected ApplicationSet: %s", r)
		}
		if after := s.ProfileState(t); after != before {
			t.Errorf("a rejected apply changed the cluster:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if r := run(time.Minute, "kubectl-profile", "status", "-o", "json"); !strings.Contains(r.Stdout, `"appliedProfile": "llm-gateway"`) {
			t.Errorf("status after the rejected apply: %s", r)
		}
	})

	// coder-fim: a scale gate on the one GPU node that no other test opens.
	t.Run("up interrupted during its first sync, then up again opens the gate", func(t *testing.T) {
		if r := run(3*time.Minute, "kubectl-costgate", "down", "--all"); r.Code != 0 {
			t.Fatalf("down --all: %s", r)
		}
		r := interrupt("coder-fim: syncing", "kubectl-costgate", "up", "coder-fim")
		if !strings.Contains(r.Stderr, "coder-fim") {
			t.Errorf("message does not name the app: %s", r.Stderr)
		}
		r = run(3*time.Minute, "kubectl-costgate", "up", "coder-fim")
		if r.Code != 0 || !strings.Contains(r.Stdout, "coder-fim: up") {
			t.Fatalf("up coder-fim again: %s", r)
		}
	})

	t.Run("up interrupted while its pod waits for the GPU, then up again waits it out", func(t *testing.T) {
		if r := run(3*time.Minute, "kubectl-costgate", "down", "coder-fim"); r.Code != 0 {
			t.Fatalf("down coder-fim: %s", r)
		}
		if r := run(3*time.Minute, "kubectl-costgate", "up", "raw-vllm", "--replicas", "1"); r.Code != 0 {
			t.Fatalf("up raw-vllm (takes the GPU): %s", r)
		}
		r := interrupt("Insufficient nvidia.com/gpu", "kubectl-costgate", "up", "coder-fim")
		if !strings.Contains(r.Stderr, "coder-fim") {
			t.Errorf("message does not name the app: %s", r.Stderr)
		}
		d, err := s.Kube.AppsV1().Deployments("coding-assistant").Get(ctx, "coder-fim", metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != 1 {
			t.Fatalf("the interrupted up left coder-fim at %v replicas (%v), want the gate open at 1", d.Spec.Replicas, err)
		}
		if r := run(3*time.Minute, "kubectl-costgate", "down", "raw-vllm"); r.Code != 0 {
			t.Fatalf("down raw-vllm: %s", r)
		}
		r = run(3*time.Minute, "kubectl-costgate", "up", "coder-fim")
		if r.Code != 0 || !strings.Contains(r.Stdout, "coder-fim: up") {
			t.Fatalf("up coder-fim again: %s", r)
		}
		if r := run(3*time.Minute, "kubectl-costgate", "down", "coder-fim"); r.Code != 0 {
			t.Fatalf("down coder-fim: %s", r)
		}
	})
}
