package costgate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// status is one status.resources entry of a live Application.
type status struct {
	group, version, kind, ns, name string
	wave                           int64
	hook                           bool
}

// deployedApp is a sync gate's live Application, Synced and Healthy, whose
// status.resources lists res, opened by costgate sync.
func deployedApp(name string, res ...status) *unstructured.Unstructured {
	a := application(name, "Synced", "Healthy", map[string]string{OpenedAtAnnotation: "2026-11-26T10:00:00Z"}, "2026-11-26T10:00:00Z")
	var list []any
	for _, r := range res {
		m := map[string]any{"group": r.group, "version": r.version, "kind": r.kind, "namespace": r.ns, "name": r.name, "status": "Synced"}
		if r.wave != 0 {
			m["syncWave"] = r.wave
		}
		if r.hook {
			m["hook"] = true
		}
		list = append(list, m)
	}
	_ = unstructured.SetNestedSlice(a.Object, list, "status", "resources")
	return a
}

// seenGone is an Application as Argo CD reconciles it once what its sync
// deployed is gone: every listed object OutOfSync and Missing, the app too.
func seenGone(app *unstructured.Unstructured) {
	list, _, _ := unstructured.NestedSlice(app.Object, "status", "resources")
	for _, r := range list {
		r.(map[string]any)["status"] = "OutOfSync"
		r.(map[string]any)["health"] = map[string]any{"status": "Missing"}
	}
	_ = unstructured.SetNestedSlice(app.Object, list, "status", "resources")
	_ = unstructured.SetNestedField(app.Object, "OutOfSync", "status", "sync", "status")
	_ = unstructured.SetNestedField(app.Object, "Missing", "status", "health", "status")
	app.SetResourceVersion("")
}

// object is a live object with a UID (the dynamic fake gives none).
func object(apiVersion, kind, ns, name string, annotations map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}}
	if ns != "" {
		u.SetNamespace(ns)
	}
	u.SetUID(types.UID("uid-" + strings.ToLower(kind) + "-" + name))
	if annotations != nil {
		u.SetAnnotations(annotations)
	}
	return u
}

// A demo that deployed a bit of everything: what a close deletes, in which
// order, and what it keeps, skips or finds gone.
func demoApp() []runtime.Object {
	ns := "demo"
	app := deployedApp("inference-demo",
		status{kind: "Namespace", version: "v1", name: ns, wave: -1},
		status{group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", name: "widgets.example.com", wave: -1},
		status{kind: "ConfigMap", version: "v1", ns: ns, name: "settings"},
		status{kind: "Secret", version: "v1", ns: ns, name: "kept-key"},
		status{kind: "PersistentVolumeClaim", version: "v1", ns: ns, name: "data"},
		status{group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", name: "demo-reader"},
		status{kind: "Service", version: "v1", ns: ns, name: "web"},
		status{group: "apps", version: "v1", kind: "Deployment", ns: ns, name: "web"},
		status{group: "apps", version: "v1", kind: "Deployment", ns: ns, name: "never-ran"},
		status{kind: "ConfigMap", version: "v1", ns: ns, name: "shared"},
		status{group: "gateway.networking.k8s.io", version: "v1", kind: "HTTPRoute", ns: ns, name: "web", wave: 1},
		status{group: "widgets.example.com", version: "v1", kind: "Widget", ns: ns, name: "gizmo"},
		status{group: "batch", version: "v1", kind: "Job", ns: ns, name: "migrate", hook: true},
	)
	other := deployedApp("other", status{kind: "ConfigMap", version: "v1", ns: ns, name: "shared"})
	return []runtime.Object{app, other,
		object("v1", "Namespace", "", ns, nil),
		object("v1", "ConfigMap", ns, "settings", nil),
		object("v1", "ConfigMap", ns, "shared", nil),
		object("v1", "Secret", ns, "kept-key", map[string]string{SyncOptionsAnnotation: "Prune=false, Delete=false"}),
		object("v1", "PersistentVolumeClaim", ns, "data", nil),
		object("v1", "Service", ns, "web", nil),
		object("apps/v1", "Deployment", ns, "web", nil),
		object("gateway.networking.k8s.io/v1", "HTTPRoute", ns, "web", nil),
		object("batch/v1", "Job", ns, "migrate", nil),
	}
}

// The close deletes the HTTPRoute (wave 1) first, then in the reverse of
// Argo CD's kind order: the Deployment before the Service before the
// ConfigMap; each foreground and guarded by its UID. The Widget's kind is
// not served, the hook is not even looked at, and opened-at is cleared.
func TestCloseSyncGateDeletesWhatItsSyncDeployed(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient(demoApp()...)
	f.Foreground()
	authorize(f)
	ch, u, err := gates(f).closeSync(context.Background(), gate(t, env, "inference-demo"), false)
	var b strings.Builder
	fmt.Fprintf(&b, "change: %+v\nerror: %v\n", ch, err)
	for _, o := range u.Objects {
		fmt.Fprintf(&b, "%-8s %s: %s\n", o.Action, o.Object, o.Reason)
	}
	fmt.Fprintf(&b, "warnings: %q\n--- writes\n%s", u.Warnings, f.Writes())
	golden.Assert(t, "testdata/close/sync-gate.golden", b.String())
}

// Every permission is asked before the first delete: one missing, nothing
// is deleted and the error names it.
func TestCloseSyncGateChecksEveryPermissionFirst(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient(demoApp()...)
	authorize(f, "delete services in demo")
	_, err := gates(f).Close(context.Background(), gate(t, env, "inference-demo"))
	want := `refusing to close inference-demo, nothing deleted: missing permission (context "fake"): delete services in demo`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if w := f.Writes(); w != "" {
		t.Errorf("a refused close wrote:\n%s", w)
	}
}

// What closing asks: the Application and the others, get and delete of each
// object, and for the wait list and watch of each kind and the pods.
func TestCloseSyncPermissions(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "inference-demo")
	objs := []AppObject{
		{App: app.Name, Kind: kube.Deployments, Namespace: "demo", Name: "a"},
		{App: app.Name, Kind: kube.Deployments, Namespace: "demo", Name: "b"},
		{App: app.Name, Kind: kube.ConfigMaps, Namespace: "demo", Name: "c"},
	}
	describe := func(perms []Permission) string {
		var out []string
		for _, p := range perms {
			out = append(out, p.String()+" ("+p.Name+")")
		}
		return strings.Join(out, "\n")
	}
	got := describe(CloseSyncPermissions("argocd", app, objs, true)) + "\n--- without wait\n" + describe(CloseSyncPermissions("argocd", app, objs, false))
	golden.Assert(t, "testdata/close/sync-permissions.golden", got)
}

// The deletion order: waves high to low, then Argo CD's kind order reversed
// (custom resources, whose kinds it does not know, first), then names.
func TestSortForDeletion(t *testing.T) {
	entries := []listed{
		{kind: "ConfigMap", name: "a"}, {kind: "Deployment", name: "b"}, {kind: "Service", name: "c"},
		{kind: "Namespace", name: "d"}, {kind: "HTTPRoute", name: "e"}, {kind: "Deployment", name: "f", wave: 2},
		{kind: "Job", name: "g", wave: -1}, {kind: "Deployment", name: "a"}, {kind: "ServiceAccount", name: "h"},
	}
	sortForDeletion(entries)
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%d %s/%s", e.wave, e.kind, e.name))
	}
	want := "2 Deployment/f, 0 HTTPRoute/e, 0 Deployment/a, 0 Deployment/b, 0 Service/c, 0 ConfigMap/a, 0 ServiceAccount/h, 0 Namespace/d, -1 Job/g"
	if strings.Join(got, ", ") != want {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, ", "), want)
	}
}

// A close waits until the Deployment (foreground: it outlives its pods) and
// its pods are gone, saying what it waits on as the collector works.
func TestWaitClosedSyncGateWaitsForTheObjectsAndTheirPods(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "inference-demo")
	d := object("apps/v1", "Deployment", "demo", "web", nil)
	_ = unstructured.SetNestedStringMap(d.Object, map[string]string{"app": "web"}, "spec", "selector", "matchLabels")
	web := pod("demo", "web-7c9f-abcde", "web")
	web.SetLabels(map[string]string{"app": "web"})
	other := pod("demo", "unrelated-1", "unrelated")
	f := kubetest.NewClient(deployedApp("inference-demo", status{group: "apps", version: "v1", kind: "Deployment", ns: "demo", name: "web"}), d, web, other)
	f.Foreground()
	authorize(f)
	g := gates(f)
	ctx := context.Background()
	if _, err := g.Close(ctx, app); err != nil {
		t.Fatal(err)
	}
	tracker := f.Dynamic.Tracker()
	var mu sync.Mutex
	var said []string
	err := g.WaitClosed(ctx, app, func(msg string) {
		mu.Lock()
		said = append(said, msg)
		mu.Unlock()
		switch msg { // the garbage collector, one step per line
		case "waiting for 1 pod(s) to go: web-7c9f-abcde":
			if err := tracker.Delete(kube.Pods.GVR, "demo", "web-7c9f-abcde"); err != nil {
				t.Error(err)
			}
		case "waiting for 1 object(s) to go: Deployment demo/web":
			if err := tracker.Delete(kube.Deployments.GVR, "demo", "web"); err != nil {
				t.Error(err)
			}
		case "waiting for Argo CD to see Deployment demo/web gone": // its next reconciliation
			live, err := f.Client.Resource(kube.Applications, "argocd").Get(ctx, "inference-demo", metav1.GetOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			seenGone(live)
			if err := f.Store(kube.Applications, live); err != nil {
				t.Error(err)
			}
		}
	})
	mu.Lock()
	defer mu.Unlock()
	want := "waiting for 1 pod(s) to go: web-7c9f-abcde | waiting for 1 object(s) to go: Deployment demo/web | " +
		"waiting for Argo CD to see Deployment demo/web gone | nothing left"
	if err != nil || strings.Join(said, " | ") != want {
		t.Errorf("said %q, err %v\nwant %s", strings.Join(said, " | "), err, want)
	}
}

// Someone syncing the app again while down waits: the wait ends with an error
// saying so, not a wait on an object that will never go.
func TestWaitClosedSyncGateSyncedAgainMeanwhile(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "inference-demo")
	f := kubetest.NewClient(deployedApp("inference-demo", status{group: "apps", version: "v1", kind: "Deployment", ns: "demo", name: "web"}),
		object("apps/v1", "Deployment", "demo", "web", nil))
	err := gates(f).WaitClosed(context.Background(), app, nil)
	want := "inference-demo was synced again by someone else while waiting for what it deployed to go: Deployment demo/web exists again"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// down --all closes open sync gates too.
func TestOpenGatesHoldsSyncGates(t *testing.T) {
	env := sandbox(t)
	gated := []platform.App{gate(t, env, "raw-vllm"), gate(t, env, "inference-demo"), gate(t, env, "n8n"), gate(t, env, "kserve-demo")}
	statuses := []Status{{State: StateDown}, {State: StateUp}, {State: StateStarting}, {State: StateDown}}
	var got []string
	for _, a := range OpenGates(gated, statuses) {
		got = append(got, a.Name)
	}
	if strings.Join(got, " ") != "inference-demo n8n" {
		t.Errorf("open gates: %v", got)
	}
}
