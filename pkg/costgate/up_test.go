package costgate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// liveApp is the gate's catalog Application as Argo CD holds it, with a status.
func liveApp(app platform.App, sync, health string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(app.Manifest)}
	_ = unstructured.SetNestedField(u.Object, sync, "status", "sync", "status")
	_ = unstructured.SetNestedField(u.Object, health, "status", "health", "status")
	return u
}

// syncingAPI is the fake Argo CD API whose sync ends as result says.
type syncingAPI struct {
	fakeAPI
	result *argocd.SyncResult
	err    error
}

func (s *syncingAPI) Sync(_ context.Context, app string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	s.patches = append(s.patches, app+" sync")
	if progress != nil {
		progress(argocd.AppStatus{Sync: "Synced", OperationPhase: "Running"})
	}
	return s.result, s.err
}

func TestUpSyncsFirstThenOpensAndReportsEachStep(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "raw-vllm")
	k := key("raw-vllm", deploymentGVK, "serving", "raw-vllm")
	api := &syncingAPI{fakeAPI: fakeAPI{
		apps:    map[string]*unstructured.Unstructured{"raw-vllm": liveApp(app, "OutOfSync", "Missing")},
		objects: map[string]*unstructured.Unstructured{k: liveDeployment("serving", "raw-vllm", 0, 0, nil)},
		canI:    map[string]bool{"get platform/raw-vllm": true, "sync platform/raw-vllm": true, "update platform/raw-vllm": true},
	}, result: &argocd.SyncResult{App: "raw-vllm", Phase: "Succeeded"}}
	var steps []string
	ch, err := serverGates(api).Up(context.Background(), app, UpOptions{}, UpReport{
		Syncing:  func(st argocd.AppStatus) { steps = append(steps, "syncing from "+st.Sync) },
		Progress: func(st argocd.AppStatus) { steps = append(steps, "progress "+st.OperationPhase) },
		Opened:   func(c Change) { steps = append(steps, "opened "+c.From+"->"+c.To) },
	})
	if err != nil || !ch.Changed || ch.To != "1" {
		t.Fatalf("up: %+v %v", ch, err)
	}
	if got := strings.Join(steps, "; "); got != "syncing from OutOfSync; progress Running; opened 0->1" {
		t.Errorf("steps: %s", got)
	}
	if !strings.Contains(strings.Join(api.patches, "\n"), "raw-vllm sync") {
		t.Errorf("patches: %q", api.patches)
	}
}

// Each stage that fails says how far up got: nothing written, a sync that
// did not succeed, or a gate opened and not known ready.
func TestUpErrorsSayHowFarItGot(t *testing.T) {
	env := sandbox(t)
	raw, n8n, kserve := gate(t, env, "raw-vllm"), gate(t, env, "n8n"), gate(t, env, "kserve-demo")
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	if _, err := CheckUp(n8n, UpOptions{OpenOptions: OpenOptions{Replicas: 2}}, now); err == nil || !strings.Contains(err.Error(), "--replicas: n8n is a sync gate, it has no replicas") {
		t.Errorf("replicas on a sync gate: %v", err)
	}
	if _, err := CheckUp(kserve, UpOptions{OpenOptions: OpenOptions{Replicas: 2}}, now); err == nil || !strings.Contains(err.Error(), "it has no replicas") {
		t.Errorf("replicas on a pause gate: %v", err)
	}
	if _, err := CheckUp(raw, UpOptions{OpenOptions: OpenOptions{Replicas: 1000}}, now); err == nil || !strings.Contains(err.Error(), "above raw-vllm's maximum") {
		t.Errorf("above the maximum: %v", err)
	}

	k := key("raw-vllm", deploymentGVK, "serving", "raw-vllm")
	newAPI := func(result *argocd.SyncResult, err error) *syncingAPI {
		return &syncingAPI{fakeAPI: fakeAPI{
			apps:    map[string]*unstructured.Unstructured{"raw-vllm": liveApp(raw, "OutOfSync", "Missing")},
			objects: map[string]*unstructured.Unstructured{k: liveDeployment("serving", "raw-vllm", 0, 0, nil)},
			canI:    map[string]bool{"get platform/raw-vllm": true, "sync platform/raw-vllm": true, "update platform/raw-vllm": true},
		}, result: result, err: err}
	}
	var up *UpError
	_, err := serverGates(newAPI(&argocd.SyncResult{App: "raw-vllm", Phase: "Failed", Message: "one or more objects failed"}, nil)).Up(context.Background(), raw, UpOptions{}, UpReport{})
	if !errors.As(err, &up) || up.Stage != UpSyncing || up.Result == nil || err.Error() != "sync of raw-vllm Failed: one or more objects failed" {
		t.Errorf("failed sync: %v", err)
	}
	_, err = serverGates(newAPI(nil, errors.New("lost"))).Up(context.Background(), raw, UpOptions{}, UpReport{})
	if !errors.As(err, &up) || up.Stage != UpSyncing || up.Result != nil {
		t.Errorf("sync error: %v", err)
	}

	// Refused before anything is written: every missing permission named.
	api := newAPI(&argocd.SyncResult{Phase: "Succeeded"}, nil)
	api.canI = map[string]bool{"get platform/raw-vllm": true}
	_, err = serverGates(api).Up(context.Background(), raw, UpOptions{}, UpReport{})
	if err == nil || !strings.HasPrefix(err.Error(), "refusing to open raw-vllm, nothing changed: missing Argo CD permission") || errors.As(err, &up) {
		t.Errorf("no sync permission: %v", err)
	}
	if strings.Contains(strings.Join(api.patches, "\n"), "sync") {
		t.Errorf("synced though refused: %q", api.patches)
	}

	// Opened, then the wait fails: the change is in the error.
	api = newAPI(&argocd.SyncResult{Phase: "Succeeded"}, nil)
	_, err = serverGates(api).Up(context.Background(), raw, UpOptions{Wait: true}, UpReport{})
	if !errors.As(err, &up) || up.Stage != UpWaiting || !up.Synced || up.Change.To != "1" {
		t.Errorf("wait failing: %+v", err)
	}
}

// What the verbs declare they need comes from the permissions they check.
func TestNeedsAndArgoPoliciesFollowTheChecks(t *testing.T) {
	env := sandbox(t)
	needs := Needs("argocd", Configured(env), Gated(env))
	var commands []string
	for _, n := range needs {
		commands = append(commands, n.Command)
	}
	if got := strings.Join(commands, ", "); got != "costgate list, costgate sync, costgate up/down, costgate pause/resume" {
		t.Errorf("commands: %s", got)
	}
	raw := gate(t, env, "raw-vllm")
	for _, p := range GatePermissions("argocd", raw, true) {
		found := false
		for _, n := range needs {
			if n.Command == "costgate up/down" {
				for _, r := range n.Requests {
					found = found || r == p.Request
				}
			}
		}
		if !found {
			t.Errorf("up/down does not declare %s", p)
		}
	}
	got := strings.Join(ArgoPolicies("platform", "argocd", raw), "; ")
	want := "applications, get, platform/raw-vllm; applications, sync, platform/raw-vllm; applications, update, platform/raw-vllm; applications, update/apps/Deployment/serving/raw-vllm, platform/raw-vllm"
	if got != want {
		t.Errorf("policies:\n%s\nwant\n%s", got, want)
	}
}
