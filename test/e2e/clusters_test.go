package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// The plugins on two clusters (called by TestSpokeClusterDeployedFromHub once
// the spoke environment is applied and Synced): the environment's cluster:
// block picks the hub for Argo CD and the spoke for the gate's target whatever
// the current context; a write through the wrong context is refused with
// nothing written; the gate opens and closes on the spoke in core mode and in
// server mode (Argo CD's API proxying to the spoke); list --all-envs sees both
// environments with their costs.
func spokeGatesAndFleet(ctx context.Context, t *testing.T, s *sandbox.Sandbox, sp *sandbox.Spoke, clusters string) {
	t.Helper()
	// A kubeconfig whose current context is the spoke: only the environment's
	// cluster: block can send Argo CD's requests to the hub.
	spokeCurrent := kubeconfigWithCurrent(t, sp.Kubeconfig, sandbox.SpokeContext)
	env := append(os.Environ(), "KUBECONFIG="+spokeCurrent)
	run := func(timeout time.Duration, plugin string, args ...string) sandbox.Result {
		return sandbox.RunPlugin(t, timeout, env, plugin, append(args, "--env", spokeEnv, "--dir", clusters)...)
	}
	versions := func() map[string]string {
		out := map[string]string{}
		for _, name := range append([]string{spokeGate, spokeEchoApp}, spokeAppSets...) {
			gvr := sandbox.ApplicationGVR
			if strings.HasPrefix(name, "layer-") {
				gvr = sandbox.ApplicationSetGVR
			}
			u, err := s.Dynamic.Resource(gvr).Namespace(sandbox.ArgoCDNamespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out[name] = u.GetResourceVersion()
		}
		return out
	}

	// 1. The wrong cluster is refused before anything is written: --context
	// names the hub's, and the spoke is not the hub.
	before := versions()
	for _, r := range []sandbox.Result{
		run(time.Minute, "kubectl-costgate", "up", spokeGate, "--context", sandbox.SpokeContext),
		run(time.Minute, "kubectl-profile", "apply", spokeProfile, "--context", sandbox.SpokeContext),
	} {
		if r.Code != 1 || !strings.Contains(r.Stderr, "environment sandbox-spoke's Argo CD (its hub) is ") ||
			!strings.Contains(r.Stderr, "nothing was written; pass --context sandbox") {
			t.Errorf("a write through the spoke's context: want exit 1 naming both clusters and the fix\n%s", r)
		}
	}
	if after := versions(); !mapsEqual(before, after) {
		t.Errorf("resourceVersions changed by refused writes: %v -> %v", before, after)
	}
	if _, err := sp.Kube.AppsV1().Deployments(spokeGateNS).Get(ctx, spokeGate, metav1.GetOptions{}); err == nil {
		t.Errorf("the gate's Deployment exists on the spoke after refused writes")
	}

	// 2. Core mode, the spoke's context current: up syncs the gate through the
	// hub's Argo CD and scales the Deployment on the spoke; down scales it to 0.
	if r := run(5*time.Minute, "kubectl-costgate", "up", spokeGate, "--timeout", "4m"); r.Code != 0 {
		t.Fatalf("costgate up %s: %s", spokeGate, r)
	}
	assertSpokeReplicas(ctx, t, sp, 1)
	if r := run(5*time.Minute, "kubectl-costgate", "down", spokeGate, "--timeout", "4m"); r.Code != 0 {
		t.Fatalf("costgate down %s: %s", spokeGate, r)
	}
	assertSpokeReplicas(ctx, t, sp, 0)

	// 3. Server mode: the hub's Argo CD API, which proxies to the spoke.
	token, err := s.ArgoCDToken()
	if err != nil {
		t.Fatal(err)
	}
	server := append(env, "ARGOCD_AUTH_TOKEN="+token)
	argo := []string{"--argocd-server", s.Env["ARGOCD_SERVER"], "--plaintext", "--env", spokeEnv, "--dir", clusters}
	if r := sandbox.RunPlugin(t, 5*time.Minute, server, "kubectl-costgate", append([]string{"up", spokeGate, "--timeout", "4m"}, argo...)...); r.Code != 0 {
		t.Fatalf("costgate up %s --argocd-server: %s", spokeGate, r)
	}
	assertSpokeReplicas(ctx, t, sp, 1)

	// 4. The fleet: both environments, each on its cluster (the sandbox
	// environment names none: the current context, the hub here), with the
	// spoke's gate open at its cost.
	fleet := fleetDir(t, clusters, "sandbox", spokeEnv)
	hubCurrent := append(os.Environ(), "KUBECONFIG="+sp.Kubeconfig)
	start := time.Now()
	r := sandbox.RunPlugin(t, 2*time.Minute, hubCurrent, "kubectl-costgate", "list", "--all-envs", "--dir", fleet, "-o", "json")
	t.Logf("list --all-envs over the two clusters: %s", time.Since(start).Round(time.Millisecond))
	if r.Code != 0 {
		t.Fatalf("list --all-envs: %s", r)
	}
	var f costgate.FleetGates
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Envs) != 2 || f.Envs[0].Env != "sandbox" || f.Envs[1].Env != spokeEnv || f.Envs[1].Context != sandbox.HubContext {
		t.Fatalf("list --all-envs: envs %+v, want sandbox and %s (its Applications read on the hub)", f.Envs, spokeEnv)
	}
	spokeRow := f.Envs[1]
	if spokeRow.Error != "" || spokeRow.OpenGates != 1 || spokeRow.OpenCostPerHour != 0.35 || len(spokeRow.Gates) != 1 {
		t.Errorf("%s: %+v, want its one gate open at $0.35 per hour", spokeEnv, spokeRow)
	}
	if f.Envs[0].Error != "" || len(f.Envs[0].Gates) == 0 {
		t.Errorf("sandbox: %+v, want its gates", f.Envs[0])
	}
	if want := f.Envs[0].OpenCostPerHour + spokeRow.OpenCostPerHour; f.OpenCostPerHour != want {
		t.Errorf("fleet cost %.2f, want the sum %.2f", f.OpenCostPerHour, want)
	}
	if r := sandbox.RunPlugin(t, 5*time.Minute, server, "kubectl-costgate", append([]string{"down", spokeGate, "--timeout", "4m"}, argo...)...); r.Code != 0 {
		t.Fatalf("costgate down %s --argocd-server: %s", spokeGate, r)
	}
	assertSpokeReplicas(ctx, t, sp, 0)
}

// fleetWithTheSpokeDown: list --all-envs with the spoke stopped: its row says
// it is unreachable within --env-timeout, the sandbox's rows are whole, exit 1.
func fleetWithTheSpokeDown(t *testing.T, sp *sandbox.Spoke, clusters string) {
	t.Helper()
	fleet := fleetDir(t, clusters, "sandbox", spokeEnv)
	env := append(os.Environ(), "KUBECONFIG="+sp.Kubeconfig)
	start := time.Now()
	r := sandbox.RunPlugin(t, 2*time.Minute, env, "kubectl-costgate", "list", "--all-envs", "--dir", fleet, "--env-timeout", "20s", "-o", "json")
	took := time.Since(start)
	var f costgate.FleetGates
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil || r.Code != 1 || len(f.Envs) != 2 {
		t.Fatalf("list --all-envs with the spoke down (%v): want exit 1 and both rows\n%s", err, r)
	}
	if f.Envs[1].Error == "" || !strings.Contains(r.Stderr, "could not be read: "+spokeEnv) {
		t.Errorf("%s's row: %+v, want why it could not be read", spokeEnv, f.Envs[1])
	}
	if f.Envs[0].Error != "" || len(f.Envs[0].Gates) == 0 {
		t.Errorf("sandbox's row: %+v, want whole", f.Envs[0])
	}
	t.Logf("list --all-envs with the spoke down: %s in %s (%s)", spokeEnv, took.Round(time.Millisecond), f.Envs[1].Error)
}

// fleetDir is a clusters folder holding only envs (symlinks to the sandbox's
// repository copies): the fleet the test means, without ai-dev's GKE cluster.
func fleetDir(t *testing.T, clusters string, envs ...string) string {
	dir := filepath.Join(t.TempDir(), "clusters")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		if err := os.Symlink(filepath.Join(clusters, e), filepath.Join(dir, e)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// kubeconfigWithCurrent is a copy of a kubeconfig with another current context.
func kubeconfigWithCurrent(t *testing.T, path, current string) string {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CurrentContext = current
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertSpokeReplicas waits, bounded, until the gate's Deployment on the spoke
// has want replicas, all ready (up and down return once the pods are; the
// Deployment's own status follows).
func assertSpokeReplicas(ctx context.Context, t *testing.T, sp *sandbox.Spoke, want int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var replicas, ready int64
	for snap := range sp.Client.Watch(ctx, kube.Deployments, spokeGateNS, kube.Named(spokeGate)).C {
		if u := snap[spokeGate]; u != nil {
			replicas, _, _ = unstructured.NestedInt64(u.Object, "spec", "replicas")
			ready, _, _ = unstructured.NestedInt64(u.Object, "status", "readyReplicas")
			if replicas == want && ready == want {
				return
			}
		}
	}
	t.Errorf("the gate's Deployment on the spoke: replicas %d, ready %d; want %d (%v)", replicas, ready, want, ctx.Err())
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
