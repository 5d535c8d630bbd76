package costgate

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// DeleteResource deletes the object from the fake's tree; an object in
// denied is refused (Argo CD's RBAC), as PatchResource refuses it.
func (f *fakeAPI) DeleteResource(_ context.Context, app string, gvk schema.GroupVersionKind, ns, name string) error {
	k := key(app, gvk, ns, name)
	if f.denied[k] {
		return fmt.Errorf("Argo CD denied the request: %w", argocd.ErrPermissionDenied)
	}
	if _, ok := f.objects[k]; !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: gvk.Kind}, name)
	}
	f.patches = append(f.patches, k+" delete")
	delete(f.objects, k)
	return nil
}

// treeAPI is fakeAPI whose resource tree holds its objects (by kind and
// namespace) and changes only when a test's step moves it.
type treeAPI struct {
	*fakeAPI
	steps []func() // one per tree change
}

func (a *treeAPI) ResourcesOf(_ context.Context, app string, gvk schema.GroupVersionKind, ns string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for k, o := range a.objects {
		if strings.HasPrefix(k, app+" "+gvk.Kind+" "+ns+"/") {
			out = append(out, o.DeepCopy())
		}
	}
	return out, nil
}

func (a *treeAPI) WatchTree(_ context.Context, _ string, changed func() (bool, error)) error {
	for {
		if done, err := changed(); done || err != nil {
			return err
		}
		if len(a.steps) == 0 {
			return fmt.Errorf("fake: the tree never changes")
		}
		a.steps[0]()
		a.steps = a.steps[1:]
	}
}

var podGVK = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}

// In server mode a sync gate closes through its Application: the reads and
// deletes go through Argo CD (DeleteResource, no precondition), can-i is
// asked only what it can answer (get; the fine-grained deletes cannot be
// asked), and the wait follows the resource tree until the Deployment and
// its pod are gone from it.
func TestServerModeClosesASyncGateThroughTheApp(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "inference-demo")
	dk, ck := key("inference-demo", deploymentGVK, "demo", "web"), key("inference-demo", schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "demo", "settings")
	pk := key("inference-demo", podGVK, "demo", "web-1")
	live := deployedApp("inference-demo",
		status{group: "apps", version: "v1", kind: "Deployment", ns: "demo", name: "web"},
		status{version: "v1", kind: "ConfigMap", ns: "demo", name: "settings"},
		status{version: "v1", kind: "Namespace", name: "demo"})
	web := liveDeployment("demo", "web", 1, 1, nil)
	web.SetUID("uid-web")
	api := &fakeAPI{
		apps:    map[string]*unstructured.Unstructured{"inference-demo": live},
		objects: map[string]*unstructured.Unstructured{dk: web, ck: object("v1", "ConfigMap", "demo", "settings", nil), pk: pod("demo", "web-1", "web")},
		canI:    map[string]bool{"get platform/inference-demo": true, "update platform/inference-demo": true},
	}
	g := serverGates(&treeAPI{fakeAPI: api})
	ch, u, err := g.closeSync(context.Background(), app, true)
	if err != nil || !ch.Changed || strings.Join(u.Deleted(), ", ") != "Deployment demo/web, ConfigMap demo/settings" {
		t.Fatalf("close: %+v %+v %v", ch, u, err)
	}
	want := []string{"inference-demo Deployment demo/web delete", "inference-demo ConfigMap demo/settings delete",
		"inference-demo Application map[costgate.aidev.io/opened-at:<nil>]"}
	if got := strings.Join(api.patches, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("writes:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}

	// The wait: Argo CD's delete is foreground, so the Deployment is still in
	// the tree (being deleted) while its pod goes.
	at := "2026-11-26T12:00:00Z"
	web.Object["metadata"].(map[string]any)["deletionTimestamp"] = at
	api.objects[dk] = web
	var said []string
	tree := &treeAPI{fakeAPI: api, steps: []func(){
		func() { delete(api.objects, pk) },
		func() { delete(api.objects, dk) },
		func() { seenGone(api.apps["inference-demo"]) }, // Argo CD writes the status after the tree
	}}
	err = serverGates(tree).WaitClosed(context.Background(), app, func(msg string) { said = append(said, msg) })
	if want := "waiting for 1 pod(s) to go: web-1 | waiting for 1 object(s) to go: Deployment demo/web | " +
		"waiting for Argo CD to see Deployment demo/web, ConfigMap demo/settings gone | nothing left"; err != nil || strings.Join(said, " | ") != want {
		t.Errorf("wait said %q, %v\nwant %s", strings.Join(said, " | "), err, want)
	}
}

// Argo CD refusing the first delete: nothing was deleted, and the error names
// the fine-grained policy. Refusing a later one: the error says what was
// deleted, what was not, and how to bring it back.
func TestServerModeRefusedDeleteSaysHowFarTheCloseGot(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "inference-demo")
	dk, ck := key("inference-demo", deploymentGVK, "demo", "web"), key("inference-demo", schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "demo", "settings")
	newAPI := func(denied string) *fakeAPI {
		return &fakeAPI{
			apps: map[string]*unstructured.Unstructured{"inference-demo": deployedApp("inference-demo",
				status{group: "apps", version: "v1", kind: "Deployment", ns: "demo", name: "web"},
				status{version: "v1", kind: "ConfigMap", ns: "demo", name: "settings"})},
			objects: map[string]*unstructured.Unstructured{dk: liveDeployment("demo", "web", 1, 1, nil), ck: object("v1", "ConfigMap", "demo", "settings", nil)},
			canI:    map[string]bool{"get platform/inference-demo": true, "update platform/inference-demo": true},
			denied:  map[string]bool{denied: true},
		}
	}
	api := newAPI(dk)
	_, err := serverGates(api).Close(context.Background(), app)
	want := "closing inference-demo: Deployment demo/web, nothing deleted: missing Argo CD permission (argocd-rbac-cm policy: p, <role>, ...): " +
		"applications, delete/apps/Deployment/demo/web, platform/inference-demo (or delete/*): Argo CD denied the request: permission denied by Argo CD RBAC"
	if err == nil || err.Error() != want || len(api.patches) != 0 {
		t.Errorf("first delete refused: %v (writes %q)\nwant %s", err, api.patches, want)
	}

	api = newAPI(ck)
	_, err = serverGates(api).Close(context.Background(), app)
	for _, part := range []string{"closing inference-demo: ConfigMap demo/settings", "applications, delete//ConfigMap/demo/settings, platform/inference-demo",
		"deleted Deployment demo/web, not deleted ConfigMap demo/settings: run the same down again to finish, or kubectl costgate sync inference-demo to bring back what was deleted"} {
		if err == nil || !strings.Contains(err.Error(), part) {
			t.Errorf("later delete refused: %v\nwant it to say %q", err, part)
		}
	}
}

// Argo CD's RBAC has no harmless way to ask for a delete: Authorize asks
// can-i what it can (get and update on the app) and leaves the deletes to the first one.
func TestServerModeAuthorizeCannotAskForDeletes(t *testing.T) {
	env := sandbox(t)
	app := gate(t, env, "inference-demo")
	objs := []AppObject{{App: app.Name, Kind: kube.Deployments, Namespace: "demo", Name: "web"}}
	api := &fakeAPI{canI: map[string]bool{}}
	err := serverGates(api).Authorize(context.Background(), CloseSyncPermissions("argocd", app, objs, true))
	if want := "missing Argo CD permission (argocd-rbac-cm policy: p, <role>, ...): applications, get, platform/inference-demo; applications, update, platform/inference-demo"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	api.canI["get platform/inference-demo"], api.canI["update platform/inference-demo"] = true, true
	if err := serverGates(api).Authorize(context.Background(), CloseSyncPermissions("argocd", app, objs, true)); err != nil {
		t.Errorf("with get: %v", err)
	}
}
