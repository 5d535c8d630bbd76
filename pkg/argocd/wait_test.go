package argocd

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func app(name, sync, health string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name},
		"status":   map[string]any{"sync": map[string]any{"status": sync}, "health": map[string]any{"status": health, "message": "pods not ready"}},
	}}
}

func TestTrackerWaitsSkipsGatedAndGivesDegradedAGrace(t *testing.T) {
	targets := []Target{
		{Name: "a", Layer: "l", Group: "g", Parent: "group-g"},
		{Name: "b", Layer: "l", Group: "g", Parent: "group-g"},
		{Name: "gpu", Layer: "l", Group: "g", Parent: "group-g", Gated: true},
	}
	tr := NewTracker(targets, time.Minute)
	t0 := time.Unix(1000, 0)

	r := tr.Observe(map[string]*unstructured.Unstructured{"a": app("a", "Synced", "Healthy")}, t0)
	if r.Done || r.Ready != 1 || r.Total != 2 || r.Gated != 1 {
		t.Fatalf("b missing: %+v", r)
	}
	if r.Rows[1].Reason != "not created yet by group-g" {
		t.Errorf("reason for a missing app: %q", r.Rows[1].Reason)
	}

	live := map[string]*unstructured.Unstructured{"a": app("a", "Synced", "Healthy"), "b": app("b", "Synced", "Degraded")}
	r = tr.Observe(live, t0)
	if r.Done || len(r.Failed) != 0 || !r.Next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Degraded within the grace must not fail, and must say when it will: %+v", r)
	}
	r = tr.Observe(live, t0.Add(59*time.Second))
	if len(r.Failed) != 0 {
		t.Fatalf("failed before the grace ran out: %+v", r.Failed)
	}
	r = tr.Observe(live, t0.Add(time.Minute))
	if len(r.Failed) != 1 || r.Failed[0].Target.Name != "b" {
		t.Fatalf("Degraded past the grace must fail: %+v", r)
	}

	// Recovering resets the grace; the gated app never blocks.
	live["b"] = app("b", "Synced", "Healthy")
	r = tr.Observe(live, t0.Add(2*time.Minute))
	if !r.Done {
		t.Fatalf("all non-gated apps ready: %+v", r)
	}
	live["b"] = app("b", "Synced", "Degraded")
	if r = tr.Observe(live, t0.Add(3*time.Minute)); len(r.Failed) != 0 {
		t.Fatal("a new Degraded spell must get a new grace")
	}
}

func BenchmarkTrackerObserve2000(b *testing.B) {
	var targets []Target
	live := map[string]*unstructured.Unstructured{}
	for i := range 2000 {
		name := fmt.Sprintf("app-%d", i)
		targets = append(targets, Target{Name: name, Layer: "l", Group: "g", Parent: "group-g"})
		live[name] = app(name, "Synced", "Healthy")
	}
	tr := NewTracker(targets, time.Minute)
	now := time.Now()
	for b.Loop() {
		if r := tr.Observe(live, now); !r.Done {
			b.Fatal("not done")
		}
	}
}

// Ready is Synced, Healthy, no operation requested or running, and the last one
// not failed; each not-ready state says what it waits on.
func TestReadyNeedsNoOperationInFlight(t *testing.T) {
	withStatus := func(extra map[string]any, operation bool) *unstructured.Unstructured {
		a := app("x", "Synced", "Healthy")
		for k, v := range extra {
			a.Object["status"].(map[string]any)[k] = v
		}
		if operation {
			a.Object["operation"] = map[string]any{"sync": map[string]any{}}
		}
		return a
	}
	for name, tc := range map[string]struct {
		app    *unstructured.Unstructured
		ready  bool
		reason string
	}{
		"idle":      {withStatus(nil, false), true, ""},
		"succeeded": {withStatus(map[string]any{"operationState": map[string]any{"phase": "Succeeded"}}, false), true, ""},
		"requested": {withStatus(nil, true), false, "sync operation requested (Synced/Healthy)"},
		"running": {withStatus(map[string]any{"operationState": map[string]any{"phase": "Running", "message": "waiting"}}, false), false,
			"sync operation running (Synced/Healthy)"},
		"terminating": {withStatus(map[string]any{"operationState": map[string]any{"phase": "Terminating"}}, false), false,
			"sync operation terminating (Synced/Healthy)"},
		"failed": {withStatus(map[string]any{"operationState": map[string]any{"phase": "Failed", "message": "hook failed"}}, false), false,
			"last sync operation Failed: hook failed"},
		"error": {withStatus(map[string]any{"operationState": map[string]any{"phase": "Error", "message": "boom"}}, false), false,
			"last sync operation Error: boom"},
		"condition": {withStatus(map[string]any{"sync": map[string]any{"status": "OutOfSync"}, "conditions": []any{map[string]any{"type": "ComparisonError", "message": "repo unreachable"}}}, false), false,
			"OutOfSync: ComparisonError: repo unreachable"},
		"unreconciled": {&unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "x"}}}, false,
			"not reconciled yet by the application-controller"},
		"progressing": {app("x", "Synced", "Progressing"), false, "Progressing: pods not ready"},
	} {
		st := StatusOf(tc.app)
		if st.Ready() != tc.ready {
			t.Errorf("%s: Ready() = %v", name, st.Ready())
		}
		r := NewTracker([]Target{{Name: "x"}}, time.Minute).Observe(map[string]*unstructured.Unstructured{"x": tc.app}, time.Unix(0, 0))
		if r.Rows[0].Reason != tc.reason {
			t.Errorf("%s: reason %q, want %q", name, r.Rows[0].Reason, tc.reason)
		}
	}
}

// An ApplicationSet's error fails the wait on the apps it should create only
// once it has stood for the grace, counted from when the wait first saw it
// (an older error may be one an apply just cured); cleared, it fails nothing.
func TestTrackerFailsOnAnApplicationSetErrorPastTheGrace(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tr := NewTracker([]Target{{Name: "base-apps", Parent: "ApplicationSet rs-core"}}, time.Minute)
	failing := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "rs-core"}, "status": map[string]any{"conditions": []any{
		map[string]any{"type": "ErrorOccurred", "status": "True", "message": "error getting project research", "lastTransitionTime": "2026-11-26T11:00:00Z"},
	}}}}
	if !tr.SeeAppSets(map[string]*unstructured.Unstructured{"rs-core": failing}, t0) {
		t.Fatal("a new error is no change")
	}
	r := tr.Observe(nil, t0.Add(14*time.Second))
	if len(r.Failed) != 0 || r.Rows[0].Reason != "ApplicationSet rs-core fails: error getting project research" || !r.Next.Equal(t0.Add(DefaultAppSetGrace)) {
		t.Fatalf("within the grace: %+v", r)
	}
	if r := tr.Observe(nil, t0.Add(DefaultAppSetGrace)); len(r.Failed) != 1 {
		t.Errorf("past the grace: %+v", r)
	}
	cured := failing.DeepCopy()
	unstructured.RemoveNestedField(cured.Object, "status", "conditions")
	if !tr.SeeAppSets(map[string]*unstructured.Unstructured{"rs-core": cured}, t0.Add(time.Minute)) {
		t.Error("a cleared error is no change")
	}
	if r := tr.Observe(nil, t0.Add(time.Minute)); len(r.Failed) != 0 || r.Rows[0].Reason != "not created yet by ApplicationSet rs-core" {
		t.Errorf("cleared: %+v", r)
	}
}
