package costgate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// fakeAPI is Argo CD's API over a map of objects: apps by name, the objects
// each app deploys by kind/namespace/name, and the RBAC answers.
type fakeAPI struct {
	apps    map[string]*unstructured.Unstructured
	objects map[string]*unstructured.Unstructured // "app Kind ns/name"
	canI    map[string]bool                       // "action object"
	denied  map[string]bool                       // "app Kind ns/name": PatchResource refused
	patches []string                              // "app Kind ns/name <patch>", in order
	// lagging: objects the resource tree holds only after this many tree
	// changes (a busy application controller, right after a sync)
	lagging map[string]int
	reads   int // Resource calls
	// meanwhile runs once, before the next patch lands: another writer
	meanwhile func()
}

func key(app string, gvk schema.GroupVersionKind, ns, name string) string {
	return fmt.Sprintf("%s %s %s/%s", app, gvk.Kind, ns, name)
}

func (f *fakeAPI) Applications(context.Context) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, a := range f.apps {
		out = append(out, a)
	}
	return out, nil
}

func (f *fakeAPI) Application(_ context.Context, name string) (*unstructured.Unstructured, error) {
	if a, ok := f.apps[name]; ok {
		return a, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "applications"}, name)
}

func (f *fakeAPI) AnnotateApplication(_ context.Context, name string, ann map[string]any) error {
	f.patches = append(f.patches, fmt.Sprintf("%s Application %v", name, ann))
	if a := f.apps[name]; a != nil {
		have := a.GetAnnotations()
		if have == nil {
			have = map[string]string{}
		}
		for k, v := range ann {
			if v == nil {
				delete(have, k)
			} else {
				have[k] = fmt.Sprint(v)
			}
		}
		a.SetAnnotations(have)
	}
	return nil
}

func (f *fakeAPI) UserInfo(context.Context) (string, error) { return "alice@example.com", nil }

func (f *fakeAPI) Resource(_ context.Context, app string, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	f.reads++
	if o, ok := f.objects[key(app, gvk, ns, name)]; ok && f.lagging[key(app, gvk, ns, name)] == 0 {
		return o.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: gvk.Kind}, name)
}

func (f *fakeAPI) PatchResource(_ context.Context, app string, gvk schema.GroupVersionKind, ns, name string, patch []byte) error {
	k := key(app, gvk, ns, name)
	if f.denied[k] {
		return fmt.Errorf("Argo CD denied the request: %w", argocd.ErrPermissionDenied)
	}
	o, ok := f.objects[k]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: gvk.Kind}, name)
	}
	if f.meanwhile != nil {
		f.meanwhile()
		f.meanwhile = nil
	}
	f.patches = append(f.patches, k+" "+string(patch))
	return mergeWithPrecondition(o, patch, schema.GroupResource{Resource: gvk.Kind})
}

// mergeWithPrecondition merge-patches o as the API server does: a
// resourceVersion in the patch that is not o's is a Conflict, and a write
// that lands gives o a new resourceVersion.
func mergeWithPrecondition(o *unstructured.Unstructured, patch []byte, gr schema.GroupResource) error {
	var p struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	rv := o.GetResourceVersion()
	if p.Metadata.ResourceVersion != "" && p.Metadata.ResourceVersion != rv {
		return apierrors.NewConflict(gr, o.GetName(), fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	data, _ := json.Marshal(o.Object)
	merged, err := jsonMergePatch(data, patch)
	if err != nil {
		return err
	}
	if err := o.UnmarshalJSON(merged); err != nil {
		return err
	}
	n, _ := strconv.Atoi(rv)
	o.SetResourceVersion(strconv.Itoa(n + 1))
	return nil
}

func (f *fakeAPI) ResourcesOf(context.Context, string, schema.GroupVersionKind, string) ([]*unstructured.Unstructured, error) {
	return nil, nil
}

// WatchTree calls changed, then once per tree change: each change brings one
// lagging object closer to the tree; with none left to bring, the tree stands.
func (f *fakeAPI) WatchTree(_ context.Context, _ string, changed func() (bool, error)) error {
	for {
		done, err := changed()
		if err != nil || done {
			return err
		}
		moved := false
		for k, n := range f.lagging {
			if n > 0 {
				f.lagging[k], moved = n-1, true
			}
		}
		if !moved {
			return fmt.Errorf("fake: the tree never changes")
		}
	}
}

func (f *fakeAPI) Sync(_ context.Context, app string, _ func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	f.patches = append(f.patches, app+" sync")
	return &argocd.SyncResult{App: app, Phase: "Succeeded"}, nil
}

func (f *fakeAPI) CanI(_ context.Context, _, action, object string) (bool, error) {
	return f.canI[action+" "+object], nil
}

func serverGates(api ArgoAPI) *Gates {
	return &Gates{Backend: &ArgoCDBackend{API: api, Project: "platform"}, Namespace: "argocd", Now: func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }}
}

var deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

// In server mode a scale gate opens and closes through its Application: one
// PatchResource each, guarded by resourceVersion, the remembered count kept.
func TestServerModeOpensAndClosesThroughTheApp(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "raw-vllm")
	d := liveDeployment("serving", "raw-vllm", 0, 0, nil)
	d.SetResourceVersion("41")
	a := liveApp(app, "Synced", "Healthy")
	a.SetAnnotations(map[string]string{PreviousReplicasAnnotation: "2"})
	api := &fakeAPI{apps: map[string]*unstructured.Unstructured{"raw-vllm": a}, objects: map[string]*unstructured.Unstructured{key("raw-vllm", deploymentGVK, "serving", "raw-vllm"): d}}
	g := serverGates(api)
	ch, err := g.Open(context.Background(), app, OpenOptions{By: "alice", Reason: "eval", For: time.Hour})
	if err != nil || ch.From != "0" || ch.To != "2" || !ch.Changed || ch.ExpiresAt == nil || !ch.ExpiresAt.Equal(g.Now().Add(time.Hour)) {
		t.Fatalf("open: %+v %v", ch, err)
	}
	ch, err = g.Close(context.Background(), app)
	if err != nil || ch.From != "2" || ch.To != "0" {
		t.Fatalf("close: %+v %v", ch, err)
	}
	want := []string{
		`raw-vllm Application map[costgate.aidev.io/expires-at:2026-11-26T13:00:00Z costgate.aidev.io/open-reason:eval costgate.aidev.io/opened-at:2026-11-26T12:00:00Z costgate.aidev.io/opened-by:alice]`,
		`raw-vllm Deployment serving/raw-vllm {"metadata":{"resourceVersion":"41"},"spec":{"replicas":2}}`,
		`raw-vllm Application map[costgate.aidev.io/expires-at:<nil> costgate.aidev.io/open-reason:<nil> costgate.aidev.io/opened-at:<nil> costgate.aidev.io/opened-by:<nil> costgate.aidev.io/previous-replicas:2]`,
		`raw-vllm Deployment serving/raw-vllm {"metadata":{"resourceVersion":"42"},"spec":{"replicas":0}}`,
	}
	if got := strings.Join(api.patches, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("patches:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// Permissions are Argo CD's: get and sync asked with can-i, the update of the
// gate's Deployment probed with an empty patch. Every missing one is named, the
// way argocd-rbac-cm writes it, and the probe changes nothing.
func TestServerModeAuthorizeNamesArgoCDPolicies(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "raw-vllm")
	k := key("raw-vllm", deploymentGVK, "serving", "raw-vllm")
	d := liveDeployment("serving", "raw-vllm", 0, 0, nil)
	api := &fakeAPI{
		objects: map[string]*unstructured.Unstructured{k: d},
		canI:    map[string]bool{"get platform/raw-vllm": true},
		denied:  map[string]bool{k: true},
	}
	perms := append(SyncPermissions("argocd", app), GatePermissions("argocd", app, true)...)
	err := serverGates(api).Authorize(context.Background(), perms)
	want := "missing Argo CD permission (argocd-rbac-cm policy: p, <role>, ...): applications, sync, platform/raw-vllm; " +
		"applications, update, platform/raw-vllm; applications, update/apps/Deployment/serving/raw-vllm, platform/raw-vllm"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	api.canI["sync platform/raw-vllm"], api.canI["update platform/raw-vllm"], api.denied[k] = true, true, false
	if err := serverGates(api).Authorize(context.Background(), perms); err != nil {
		t.Errorf("allowed: %v", err)
	}
	if got := strings.Join(api.patches, "\n"); got != k+" {}" {
		t.Errorf("the probe: %q", got)
	}
}

// list reads the Applications and each gate's target through its app; a
// target its app does not hold is absent, not an error.
func TestServerModeReadLive(t *testing.T) {
	env := sandbox(t)
	raw, chat := gate(t, env, "raw-vllm"), gate(t, env, "coder-chat")
	api := &fakeAPI{
		apps: map[string]*unstructured.Unstructured{
			"raw-vllm": application("raw-vllm", "Synced", "Healthy", nil, ""), "coder-chat": application("coder-chat", "OutOfSync", "Missing", nil, ""),
		},
		objects: map[string]*unstructured.Unstructured{key("raw-vllm", deploymentGVK, "serving", "raw-vllm"): liveDeployment("serving", "raw-vllm", 1, 1, nil)},
	}
	live, err := serverGates(api).ReadLive(context.Background(), Gated(env))
	if err != nil {
		t.Fatal(err)
	}
	statuses := Observe(platform.HostKubectl, []platform.App{raw, chat}, live, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	if statuses[0].State != StateUp || statuses[1].State != StateAbsent || len(live.Workloads) != 1 {
		t.Errorf("states %s %s, workloads %d", statuses[0].State, statuses[1].State, len(live.Workloads))
	}
}

// syncedApp is an Application whose last sync applied the given Deployments.
func syncedApp(name string, deployments ...string) *unstructured.Unstructured {
	a := application(name, "OutOfSync", "Healthy", nil, "")
	var resources []any
	for _, d := range deployments {
		ns, n, _ := strings.Cut(d, "/")
		resources = append(resources, map[string]any{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": ns, "name": n,
			"status": "Synced", "hookPhase": "Running", "syncPhase": "Sync"})
	}
	_ = unstructured.SetNestedField(a.Object, map[string]any{"phase": "Succeeded", "syncResult": map[string]any{"resources": resources}}, "status", "operationState")
	return a
}

// Right after a sync, Argo CD's resource tree may not hold what the sync
// created yet (GetResource says not found): up follows the tree until the
// Deployment appears and opens it, never "does not exist: sync the app first".
func TestServerModeReadsAfterTheSyncOnceTheTreeHoldsTheTarget(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "raw-vllm")
	k := key("raw-vllm", deploymentGVK, "serving", "raw-vllm")
	api := &fakeAPI{
		apps:    map[string]*unstructured.Unstructured{"raw-vllm": syncedApp("raw-vllm", "serving/raw-vllm")},
		objects: map[string]*unstructured.Unstructured{k: liveDeployment("serving", "raw-vllm", 0, 0, nil)},
		lagging: map[string]int{k: 3},
	}
	ch, err := serverGates(api).Open(context.Background(), app, OpenOptions{})
	if err != nil || ch.From != "0" || ch.To != "1" || !ch.Changed {
		t.Fatalf("open after a lagging tree: %+v %v", ch, err)
	}

	// list right after the sync reads it too.
	api.lagging[k] = 2
	live, err := serverGates(api).ReadLive(context.Background(), []platform.App{app})
	if err != nil || live.Workload(WorkloadOf(app)) == nil {
		t.Fatalf("list after a lagging tree: %v %v", live.Workloads, err)
	}

	// An app whose last sync did not apply the Deployment is not waited on: the
	// Deployment is missing, said at once.
	api.apps["raw-vllm"] = application("raw-vllm", "OutOfSync", "Missing", nil, "")
	api.lagging[k], api.reads = 5, 0
	_, err = serverGates(api).Open(context.Background(), app, OpenOptions{})
	if err == nil || !strings.Contains(err.Error(), "does not exist: sync the app first") || api.reads != 1 {
		t.Errorf("never synced: %v after %d reads", err, api.reads)
	}
}

// A tree that never gets the object ends with the command's deadline, saying so.
func TestServerModeTreeThatNeverHoldsTheTargetEndsWithTheDeadline(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "raw-vllm")
	api := &blockingTreeAPI{fakeAPI{apps: map[string]*unstructured.Unstructured{"raw-vllm": syncedApp("raw-vllm", "serving/raw-vllm")}}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := serverGates(api).Open(ctx, app, OpenOptions{})
	want := "Deployment serving/raw-vllm, applied by raw-vllm's last sync, is not in Argo CD's resource tree of raw-vllm yet: context deadline exceeded"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %s", err, want)
	}
}

// blockingTreeAPI's tree never changes: its watch ends with ctx.
type blockingTreeAPI struct{ fakeAPI }

func (b *blockingTreeAPI) WatchTree(ctx context.Context, _ string, changed func() (bool, error)) error {
	if done, err := changed(); done || err != nil {
		return err
	}
	return testwait.Done(ctx, "the resource tree watch's context")
}

func jsonMergePatch(doc, patch []byte) ([]byte, error) { return jsonpatch.MergePatch(doc, patch) }

// A write that loses a race in server mode (another writer changed the
// Deployment between the read and the patch) is read again and decided anew:
// the API server's Conflict comes back through Argo CD as apierrors Conflict.
func TestServerModeRetriesALostRaceFromAFreshRead(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "raw-vllm")
	k := key("raw-vllm", deploymentGVK, "serving", "raw-vllm")
	d := liveDeployment("serving", "raw-vllm", 0, 0, nil)
	d.SetResourceVersion("7")
	api := &fakeAPI{apps: map[string]*unstructured.Unstructured{"raw-vllm": liveApp(app, "Synced", "Healthy")}, objects: map[string]*unstructured.Unstructured{k: d}}
	api.meanwhile = func() { // someone opens it to 3 first
		_ = unstructured.SetNestedField(d.Object, int64(3), "spec", "replicas")
		d.SetResourceVersion("8")
	}
	ch, err := serverGates(api).Open(context.Background(), app, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The second read sees 3 open: an open gate is kept as it is, not lowered.
	if ch.From != "3" || ch.To != "3" || ch.Changed || len(api.patches) != 2 || !strings.Contains(api.patches[0], "Application") {
		t.Errorf("after the conflict: %+v, patches %q", ch, api.patches)
	}
	if got, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); got != 3 {
		t.Errorf("replicas %d, want the other writer's 3", got)
	}
}
