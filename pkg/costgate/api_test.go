package costgate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

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
	return nil
}

func (f *fakeAPI) Resource(_ context.Context, app string, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	if o, ok := f.objects[key(app, gvk, ns, name)]; ok {
		return o.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: gvk.Kind}, name)
}

func (f *fakeAPI) PatchResource(_ context.Context, app string, gvk schema.GroupVersionKind, ns, name string, patch []byte) error {
	k := key(app, gvk, ns, name)
	if f.denied[k] {
		return fmt.Errorf("Argo CD denied the request: %w", ErrPermissionDenied)
	}
	o, ok := f.objects[k]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: gvk.Kind}, name)
	}
	f.patches = append(f.patches, k+" "+string(patch))
	data, _ := json.Marshal(o.Object)
	merged, err := jsonMergePatch(data, patch)
	if err != nil {
		return err
	}
	return o.UnmarshalJSON(merged)
}

func (f *fakeAPI) ResourcesOf(context.Context, string, schema.GroupVersionKind, string) ([]*unstructured.Unstructured, error) {
	return nil, nil
}

func (f *fakeAPI) WatchTree(_ context.Context, _ string, changed func() (bool, error)) error {
	done, err := changed()
	if err == nil && !done {
		return fmt.Errorf("fake: the tree never changes")
	}
	return err
}

func (f *fakeAPI) CanI(_ context.Context, _, action, object string) (bool, error) {
	return f.canI[action+" "+object], nil
}

func serverGates(api *fakeAPI) *Gates {
	return &Gates{API: api, Namespace: "argocd", Project: "platform", Now: func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }}
}

var deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

// In server mode a scale gate opens and closes through its Application: one
// PatchResource each, guarded by resourceVersion, the remembered count kept.
func TestServerModeOpensAndClosesThroughTheApp(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "raw-vllm")
	d := liveDeployment("serving", "raw-vllm", 0, 0, map[string]string{PreviousReplicasAnnotation: "2"})
	d.SetResourceVersion("41")
	api := &fakeAPI{objects: map[string]*unstructured.Unstructured{key("raw-vllm", deploymentGVK, "serving", "raw-vllm"): d}}
	g := serverGates(api)
	ch, err := g.Open(context.Background(), app, OpenOptions{})
	if err != nil || ch.From != "0" || ch.To != "2" || !ch.Changed {
		t.Fatalf("open: %+v %v", ch, err)
	}
	ch, err = g.Close(context.Background(), app)
	if err != nil || ch.From != "2" || ch.To != "0" {
		t.Fatalf("close: %+v %v", ch, err)
	}
	want := []string{
		`raw-vllm Deployment serving/raw-vllm {"metadata":{"annotations":{"costgate.aidev.io/opened-at":"2026-11-26T12:00:00Z","costgate.aidev.io/previous-replicas":null},"resourceVersion":"41"},"spec":{"replicas":2}}`,
		`raw-vllm Deployment serving/raw-vllm {"metadata":{"annotations":{"costgate.aidev.io/opened-at":null,"costgate.aidev.io/previous-replicas":"2"},"resourceVersion":"41"},"spec":{"replicas":0}}`,
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
	perms := append(SyncPermissions("argocd", app), GatePermissions(app, true)...)
	err := serverGates(api).Authorize(context.Background(), perms)
	want := "missing Argo CD permission (argocd-rbac-cm policy: p, <role>, ...): applications, sync, platform/raw-vllm; " +
		"applications, update/apps/Deployment/serving/raw-vllm, platform/raw-vllm"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	api.canI["sync platform/raw-vllm"], api.denied[k] = true, false
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
	statuses := Observe([]platform.App{raw, chat}, live, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	if statuses[0].State != StateUp || statuses[1].State != StateAbsent || len(live.Deployments) != 1 {
		t.Errorf("states %s %s, deployments %d", statuses[0].State, statuses[1].State, len(live.Deployments))
	}
}

func jsonMergePatch(doc, patch []byte) ([]byte, error) { return jsonpatch.MergePatch(doc, patch) }
