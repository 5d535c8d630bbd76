package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// The spoke environment (clusters/sandbox-spoke) and what it deploys.
const (
	spokeEnv       = "sandbox-spoke"
	spokeProfile   = "serving"
	spokeProject   = "sandbox-spoke"
	spokeEchoApp   = "spoke-echo" // auto-sync, Deployment spoke-echo/spoke-echo
	spokeEchoNS    = "spoke-echo"
	spokeGate      = "spoke-vllm" // scale gate, Deployment spoke-serving/spoke-vllm at 0
	spokeGateNS    = "spoke-serving"
	spokeGateCost  = "0.35"
	spokeWaitLimit = 3 * time.Minute
)

var (
	spokeAppSets   = []string{"layer-spoke-platform", "layer-spoke-serving"}
	spokeGroupApps = []string{"group-spoke-core", "group-spoke-models"}
)

// A second cluster registered in the hub's Argo CD: kubectl profile applies the
// spoke environment's ApplicationSets on the hub (the kubeconfig's current
// context), Argo CD deploys its apps to the spoke (destination name spoke), and
// a spoke that goes away is reported unreachable, then recovers.
func TestSpokeClusterDeployedFromHub(t *testing.T) {
	s := sandbox.Need(t, sb)
	t.Parallel() // the only test that uses (and stops) the spoke
	sp := s.Spoke(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	// 1. Registered: the hub's Argo CD cluster Secret, in the documented format.
	sec, err := s.Kube.CoreV1().Secrets(sandbox.ArgoCDNamespace).Get(ctx, sandbox.SpokeSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the spoke's cluster Secret: %v", err)
	}
	if got := sec.Labels["argocd.argoproj.io/secret-type"]; got != "cluster" {
		t.Errorf("Secret %s: label argocd.argoproj.io/secret-type = %q, want cluster", sec.Name, got)
	}
	if got := string(sec.Data["name"]); got != sandbox.SpokeName || sp.Name != sandbox.SpokeName {
		t.Errorf("Secret %s: name = %q (Spoke.Name %q), want %q", sec.Name, got, sp.Name, sandbox.SpokeName)
	}
	if got := string(sec.Data["server"]); got != sp.Server || sp.Server == "" {
		t.Errorf("Secret %s: server = %q, want the spoke's %q", sec.Name, got, sp.Server)
	}
	var cfg struct {
		BearerToken     string `json:"bearerToken"`
		TLSClientConfig struct {
			Insecure bool   `json:"insecure"`
			CAData   []byte `json:"caData"`
		} `json:"tlsClientConfig"`
	}
	if err := json.Unmarshal(sec.Data["config"], &cfg); err != nil {
		t.Fatalf("Secret %s: config is not JSON: %v", sec.Name, err)
	}
	if cfg.BearerToken == "" || len(cfg.TLSClientConfig.CAData) == 0 || cfg.TLSClientConfig.Insecure {
		t.Errorf("Secret %s: config wants a bearer token and the spoke's CA, TLS verified (token set %t, caData %d bytes, insecure %t)",
			sec.Name, cfg.BearerToken != "", len(cfg.TLSClientConfig.CAData), cfg.TLSClientConfig.Insecure)
	}
	// The kubeconfig: the hub's context current, the spoke's beside it.
	if sp.HubContext != sandbox.HubContext || sp.Context != sandbox.SpokeContext {
		t.Errorf("contexts %q (hub) and %q (spoke), want %q and %q", sp.HubContext, sp.Context, sandbox.HubContext, sandbox.SpokeContext)
	}
	if err := sp.Reachable(ctx); err != nil {
		t.Fatalf("the spoke's API server: %v", err)
	}
	nodes, err := sp.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("the spoke's nodes: %v (%d)", err, len(nodes.Items))
	}

	// 2. kubectl profile apply and wait, with the two-context kubeconfig (the hub current).
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanUpSpokeEnv(t, s, sp) })
	clusters := filepath.Join(s.RepoDir, "clusters")
	env := append(os.Environ(), "KUBECONFIG="+sp.Kubeconfig) // the last one wins
	if r := sandbox.RunPlugin(t, 2*time.Minute, env, "kubectl-profile", "apply", spokeProfile, "--env", spokeEnv, "--dir", clusters); r.Code != 0 {
		t.Fatalf("apply %s --env %s: %s", spokeProfile, spokeEnv, r)
	}
	if r := sandbox.RunPlugin(t, spokeWaitLimit+time.Minute, env, "kubectl-profile", "wait", spokeProfile, "--env", spokeEnv,
		"--dir", clusters, "--timeout", spokeWaitLimit.String()); r.Code != 0 {
		t.Fatalf("wait %s --env %s: %s", spokeProfile, spokeEnv, r)
	}
	for _, name := range spokeAppSets {
		if _, err := s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("ApplicationSet %s on the hub: %v", name, err)
		}
	}
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	echo, err := apps.Get(ctx, spokeEchoApp, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Application %s: %v", spokeEchoApp, err)
	}
	if st := argocd.StatusOf(echo); st.Sync != "Synced" || st.Health != "Healthy" {
		t.Errorf("Application %s after wait: %s/%s, want Synced/Healthy", spokeEchoApp, st.Sync, st.Health)
	}
	if dest, _, _ := unstructured.NestedString(echo.Object, "spec", "destination", "name"); dest != sandbox.SpokeName {
		t.Errorf("Application %s: destination.name = %q, want %q", spokeEchoApp, dest, sandbox.SpokeName)
	}
	gate, err := apps.Get(ctx, spokeGate, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("gate Application %s: %v", spokeGate, err)
	}
	if got := gate.GetAnnotations()["costgate.aidev.io/cost-per-hour"]; got != spokeGateCost {
		t.Errorf("gate %s: cost-per-hour %q, want %q", spokeGate, got, spokeGateCost)
	}

	// 3. The Deployment is Ready on the spoke, and absent from the hub.
	dep, err := waitDeploymentReady(ctx, sp.Client, spokeEchoNS, spokeEchoApp)
	if err != nil {
		t.Fatalf("on the spoke: %v", err)
	}
	if _, err := s.Kube.AppsV1().Deployments(spokeEchoNS).Get(ctx, spokeEchoApp, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment %s/%s on the HUB: err %v, want NotFound", spokeEchoNS, spokeEchoApp, err)
	}
	if _, err := s.Kube.CoreV1().Namespaces().Get(ctx, spokeEchoNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s on the HUB: err %v, want NotFound", spokeEchoNS, err)
	}
	// The gate is manual: nothing of it on the spoke until a sync.
	if _, err := sp.Kube.AppsV1().Deployments(spokeGateNS).Get(ctx, spokeGate, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("gate Deployment %s/%s on the spoke before any sync: err %v, want NotFound", spokeGateNS, spokeGate, err)
	}
	t.Logf("Deployment %s/%s on the spoke: %d/%d ready", spokeEchoNS, spokeEchoApp, dep.ReadyReplicas, dep.Replicas)

	// The plugins on both clusters: the environment's cluster, refusals, the
	// gate on the spoke in both modes, the fleet view.
	spokeGatesAndFleet(ctx, t, s, sp, clusters)

	// Argo CD connects to the spoke (it has applications there now).
	conn, err := waitConnection(ctx, sp, "Successful")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Argo CD: cluster %s %s", sp.Name, conn.Status)

	// 4. Stop the spoke: a plain client and Argo CD report it unreachable, within a bound.
	sp.Stop(t)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			sp.Start(t)
		}
	})
	if err := sp.Reachable(ctx); err == nil {
		t.Fatal("the spoke's API server still answers after Stop")
	} else {
		t.Logf("plain client: %v", err)
	}
	if err := sp.InvalidateArgoCDCache(ctx); err != nil {
		t.Fatalf("asking Argo CD to refresh the spoke: %v", err)
	}
	conn, err = waitConnection(ctx, sp, "Failed")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Argo CD: cluster %s %s: %s", sp.Name, conn.Status, conn.Message)
	fleetWithTheSpokeDown(t, sp, clusters)

	// 5. Start it again: reachable, Argo CD connects, and the app is still there and Ready.
	sp.Start(t)
	stopped = false
	if err := sp.Reachable(ctx); err != nil {
		t.Fatalf("the spoke after Start: %v", err)
	}
	if _, err := waitConnection(ctx, sp, "Successful"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDeploymentReady(ctx, sp.Client, spokeEchoNS, spokeEchoApp); err != nil {
		t.Fatalf("on the spoke after Start: %v", err)
	}
	if _, err := s.WaitFor(ctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, spokeEchoApp, syncedHealthy); err != nil {
		t.Fatal(err)
	}
}

// waitConnection waits, bounded, until Argo CD reports the spoke's connection state.
func waitConnection(ctx context.Context, sp *sandbox.Spoke, status string) (sandbox.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	return sp.WaitArgoCDConnection(ctx, status)
}

type deploymentState struct{ Replicas, ReadyReplicas int64 }

// waitDeploymentReady watches a Deployment (the plugins' list+watch, on the
// client's cluster) until all its replicas, at least one, are ready.
func waitDeploymentReady(ctx context.Context, c *kube.Client, namespace, name string) (deploymentState, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var last deploymentState
	for snap := range c.Watch(ctx, kube.Deployments, namespace, kube.Named(name)).C {
		u := snap[name]
		if u == nil {
			continue
		}
		last.Replicas, _, _ = unstructured.NestedInt64(u.Object, "spec", "replicas")
		last.ReadyReplicas, _, _ = unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		if last.Replicas > 0 && last.ReadyReplicas == last.Replicas {
			return last, nil
		}
	}
	return last, fmt.Errorf("waiting for Deployment %s/%s to be Ready on %s: %w (last: %d of %d ready)",
		namespace, name, c.Context, ctx.Err(), last.ReadyReplicas, last.Replicas)
}

// cleanUpSpokeEnv deletes what the spoke test applied, so other tests (and the
// next run) start clean: the ApplicationSets (their group Applications and, by
// the finalizers, the app Applications and what they deployed on the spoke),
// then the AppProject and the ApplySet parent. The spoke must be up for the
// finalizers: a test that failed while it was stopped started it again first
// (cleanups run last-registered first).
func cleanUpSpokeEnv(t *testing.T, s *sandbox.Sandbox, sp *sandbox.Spoke) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fail := func(what string, err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cleanup: %s: %v", what, err)
		}
	}
	fg := metav1.DeletePropagationForeground
	for _, name := range spokeAppSets {
		fail("deleting ApplicationSet "+name, s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).
			Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg}))
	}
	for _, name := range spokeAppSets {
		fail("ApplicationSet "+name, s.WaitGone(ctx, sandbox.ApplicationSetGVR, sandbox.ArgoCDNamespace, name))
	}
	for _, app := range append(append([]string{}, spokeGroupApps...), spokeEchoApp, spokeGate) {
		fail("Application "+app, s.WaitGone(ctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, app))
	}
	fail("deleting AppProject "+spokeProject, s.Dynamic.Resource(sandbox.AppProjectGVR).Namespace(sandbox.ArgoCDNamespace).
		Delete(ctx, spokeProject, metav1.DeleteOptions{}))
	fail("deleting the ApplySet parent", s.Kube.CoreV1().ConfigMaps(sandbox.ArgoCDNamespace).
		Delete(ctx, "kubectl-profile-"+spokeEnv, metav1.DeleteOptions{}))
	// What the finalizers pruned on the spoke: the echo Deployment is gone there.
	if _, err := sp.Kube.AppsV1().Deployments(spokeEchoNS).Get(ctx, spokeEchoApp, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cleanup: Deployment %s/%s still on the spoke: %v", spokeEchoNS, spokeEchoApp, err)
	}
}
