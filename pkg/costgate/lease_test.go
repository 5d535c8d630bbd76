package costgate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

func leased(t *testing.T, maxOpen time.Duration, uptime string) platform.App {
	t.Helper()
	g := &platform.Gate{Kind: platform.GateScale, MaxOpen: maxOpen, Target: &platform.ObjectRef{Group: "apps", Kind: "StatefulSet", Namespace: "embeddings", Name: "vector-store"}}
	if uptime != "" {
		u, err := platform.ParseUptime(uptime)
		if err != nil {
			t.Fatal(err)
		}
		g.Uptime = u
	}
	return platform.App{Name: "vector-store", File: "catalog/embeddings/vector-store.yaml", Gate: g}
}

// What an up may lease, at a Wednesday noon in Berlin (11:00 UTC) and at
// Saturday noon, for a gate with max-open 8h and a working-hours window.
func TestCheckLease(t *testing.T) {
	wednesday := time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)
	saturday := time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC)
	app := leased(t, 8*time.Hour, "Mon-Fri 07:00-20:00 Europe/Berlin")
	for _, tc := range []struct {
		name  string
		lease time.Duration
		force bool
		at    time.Time
		note  string
		err   string
	}{
		{name: "no --for in the window: max-open applies later", at: wednesday},
		{name: "--for within max-open", lease: 2 * time.Hour, at: wednesday},
		{name: "--for above max-open", lease: 9 * time.Hour, at: wednesday,
			err: "--for 9h0m0s is above vector-store's max-open of 8h0m0s (annotation costgate.aidev.io/max-open): pass --force to go above it, or raise the annotation in catalog/embeddings/vector-store.yaml"},
		{name: "--for above max-open, forced", lease: 9 * time.Hour, force: true, at: wednesday},
		{name: "outside the window without --for", at: saturday,
			err: `vector-store is outside its uptime window "Mon-Fri 07:00-20:00 Europe/Berlin" (annotation costgate.aidev.io/uptime), which opens at Mon 2026-12-07 07:00 CET: pass --for DURATION to open it anyway, the lease overriding the window until it ends`},
		{name: "outside the window with --for", lease: time.Hour, at: saturday,
			note: `vector-store is outside its uptime window "Mon-Fri 07:00-20:00 Europe/Berlin" (annotation costgate.aidev.io/uptime), which opens at Mon 2026-12-07 07:00 CET: the lease of 1h0m0s overrides it until 2026-12-05T12:00:00Z`},
	} {
		note, err := CheckLease(app, tc.lease, tc.force, tc.at)
		if fmt.Sprint(err) != fmt.Sprint(errOrNil(tc.err)) || note != tc.note {
			t.Errorf("%s:\n got note %q err %v\nwant note %q err %v", tc.name, note, err, tc.note, tc.err)
		}
	}
}

func errOrNil(s string) error {
	if s == "" {
		return nil
	}
	return fmt.Errorf("%s", s)
}

// The lease an up records: --for from now; max-open for a closed gate given
// none; an open gate given none keeps its own.
func TestLeaseEnd(t *testing.T) {
	at := time.Date(2026, 12, 2, 11, 0, 0, 500, time.UTC)
	withMax, without := leased(t, 8*time.Hour, ""), leased(t, 0, "")
	for _, tc := range []struct {
		name  string
		app   platform.App
		lease time.Duration
		open  bool
		want  string
	}{
		{"--for on a closed gate", withMax, 2 * time.Hour, false, "2026-12-02T13:00:00Z"},
		{"--for extends an open gate", withMax, 2 * time.Hour, true, "2026-12-02T13:00:00Z"},
		{"a closed gate gets max-open", withMax, 0, false, "2026-12-02T19:00:00Z"},
		{"an open gate keeps its lease", withMax, 0, true, "<nil>"},
		{"no max-open, no --for: no lease", without, 0, false, "<nil>"},
	} {
		got := "<nil>"
		if end := leaseEnd(tc.app, tc.lease, tc.open, at); end != nil {
			got = end.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// idle's order: a lease that ran out closes; outside the window closes only
// what no lease holds open; Prometheus is asked only after both, and not at
// all for a gate they close (prom fails every query here).
func TestDecideIdleLeasesAndWindows(t *testing.T) {
	saturday := time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC)
	past, future := saturday.Add(-time.Minute), saturday.Add(time.Hour)
	since := saturday.Add(-3 * time.Hour)
	apps := []platform.App{leased(t, 0, ""), leased(t, 0, "Mon-Fri 07:00-20:00 Europe/Berlin"), leased(t, 0, "Mon-Fri 07:00-20:00 Europe/Berlin"), leased(t, 0, "")}
	for i := range apps {
		apps[i].Name = []string{"expired", "outside", "outside-leased", "leased"}[i]
		apps[i].Gate.IdleAfter = 30 * time.Minute
	}
	statuses := []Status{
		{State: StateUp, UpSince: &since, ExpiresAt: &past, OpenedBy: "alice"},
		{State: StateUp, UpSince: &since},
		{State: StateStarting, UpSince: &since, ExpiresAt: &future},
		{State: StateUp, UpSince: &since, ExpiresAt: &future},
	}
	var lines []string
	for _, d := range DecideIdle(context.Background(), prometheus{"": "error"}, apps, statuses, IdleRule{}, saturday) {
		lines = append(lines, fmt.Sprintf("%+v", d))
	}
	golden.Assert(t, "testdata/idle-leases.golden", strings.Join(lines, "\n")+"\n")
	// Without any Prometheus, leases and windows still close.
	for _, d := range DecideIdle(context.Background(), nil, apps, statuses, IdleRule{}, saturday) {
		if closes := d.App == "expired" || d.App == "outside"; d.Idle != closes {
			t.Errorf("no Prometheus: %+v", d)
		}
	}
}

// A scale gate over each kind writes its replicas through /scale, recorded
// on its Application; a kind without /scale, or one the cluster does not
// serve, is an error naming the gate's target.
func TestScaleGatesOverEachKind(t *testing.T) {
	var out []string
	for _, tc := range []struct{ group, kind, apiVersion string }{
		{"apps", "StatefulSet", "apps/v1"},
		{"leaderworkerset.x-k8s.io", "LeaderWorkerSet", "leaderworkerset.x-k8s.io/v1"},
		{"sandbox.aidev.io", "Model", "sandbox.aidev.io/v1alpha1"},
	} {
		app := platform.App{Name: "gate", Gate: &platform.Gate{Kind: platform.GateScale, Replicas: 2,
			Target: &platform.ObjectRef{Group: tc.group, Kind: tc.kind, Namespace: "models", Name: "decode"}}}
		workload := &unstructured.Unstructured{Object: map[string]any{"apiVersion": tc.apiVersion, "kind": tc.kind,
			"metadata": map[string]any{"name": "decode", "namespace": "models"}, "spec": map[string]any{"replicas": int64(0)}}}
		f := kubetest.NewClient(workload, application("gate", "Synced", "Healthy", nil, ""))
		ch, err := gates(f).Open(context.Background(), app, OpenOptions{By: "alice"})
		out = append(out, fmt.Sprintf("=== %s: %+v %v", app.Gate.Target, ch, err), f.WriteLines())
	}
	golden.Assert(t, "testdata/open/each-kind.golden", strings.Join(out, "\n"))

	for _, tc := range []struct{ group, kind, want string }{
		{"sandbox.aidev.io", "Notebook", "target of gate: Notebook.sandbox.aidev.io has no /scale subresource on https://fake.cluster:6443: it cannot be scaled"},
		{"example.com", "Widget", `target of gate: Widget.example.com is not served by https://fake.cluster:6443 (context "fake"): is its CRD installed`},
	} {
		app := platform.App{Name: "gate", Gate: &platform.Gate{Kind: platform.GateScale, Replicas: 1,
			Target: &platform.ObjectRef{Group: tc.group, Kind: tc.kind, Namespace: "models", Name: "decode"}}}
		f := kubetest.NewClient(application("gate", "Synced", "Healthy", nil, ""))
		if _, err := gates(f).Open(context.Background(), app, OpenOptions{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\nwant %s", tc.kind, err, tc.want)
		}
		if w := f.Writes(); w != "" {
			t.Errorf("%s: wrote %s", tc.kind, w)
		}
	}
}

// A HorizontalPodAutoscaler on the target would undo up: refused, named.
func TestCheckSafeRefusesATargetAnHPAScales(t *testing.T) {
	app := gate(t, sandbox(t), "raw-vllm")
	live := liveApp(app, "Synced", "Healthy")
	hpa := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
		"metadata": map[string]any{"name": "raw-vllm-hpa", "namespace": "serving"},
		"spec":     map[string]any{"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "raw-vllm"}}}}
	other := hpa.DeepCopy()
	other.SetName("other")
	_ = unstructured.SetNestedField(other.Object, "StatefulSet", "spec", "scaleTargetRef", "kind")
	if err := gates(kubetest.NewClient(other)).CheckSafe(context.Background(), app, live); err != nil {
		t.Errorf("an HPA of a StatefulSet of the same name: %v", err)
	}
	err := gates(kubetest.NewClient(hpa, other)).CheckSafe(context.Background(), app, live)
	want := "refusing to scale raw-vllm: HorizontalPodAutoscaler serving/raw-vllm-hpa scales Deployment/serving/raw-vllm and would undo it (delete it, or gate raw-vllm with a sync gate)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
