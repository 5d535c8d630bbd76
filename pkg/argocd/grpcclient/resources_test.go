package grpcclient

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
)

var deployments = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}

func TestApplicationReadsThroughTheAPIWithTheToken(t *testing.T) {
	srv := startFake(t, &fakeApps{apps: map[string]*v1alpha1.Application{"web": newApp("web")}}, nil)
	c := connect(t, srv.addr)
	ctx := testContext(t)

	app, err := c.Application(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if app.GetName() != "web" || app.GetNamespace() != "argocd" || app.GetResourceVersion() != "7" {
		t.Errorf("read %s/%s at %s", app.GetNamespace(), app.GetName(), app.GetResourceVersion())
	}
	if path, _, _ := unstructured.NestedString(app.Object, "spec", "source", "path"); path != "web" {
		t.Errorf("spec.source.path = %q", path)
	}
	srv.onlyToken(t)
}

func TestApplicationNotFoundIsTheAPIsNotFound(t *testing.T) {
	srv := startFake(t, &fakeApps{apps: map[string]*v1alpha1.Application{}}, nil)
	c := connect(t, srv.addr)

	_, err := c.Application(testContext(t), "gone")
	if !apierrors.IsNotFound(err) {
		t.Fatalf("want NotFound, got %v", err)
	}
	if d := err.(apierrors.APIStatus).Status().Details; d == nil || d.Group != "argoproj.io" || d.Kind != "applications" || d.Name != "gone" {
		t.Errorf("NotFound details %+v, want argoproj.io applications gone", d)
	}
}

func TestApplicationsListsWhatTheTokenMaySee(t *testing.T) {
	srv := startFake(t, &fakeApps{apps: map[string]*v1alpha1.Application{"web": newApp("web"), "api": newApp("api")}}, nil)
	c := connect(t, srv.addr)

	list, err := c.Applications(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list {
		names = append(names, a.GetName())
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"api", "web"}) {
		t.Errorf("listed %v", names)
	}
}

func TestAnnotateApplicationSendsAMergePatch(t *testing.T) {
	apps := &fakeApps{apps: map[string]*v1alpha1.Application{"web": newApp("web")}}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	if err := c.AnnotateApplication(testContext(t), "web", map[string]any{"costgate/paused": "true", "costgate/old": nil}); err != nil {
		t.Fatal(err)
	}
	patches := recorded(apps, func() []*applicationpkg.ApplicationPatchRequest { return apps.patches })
	if len(patches) != 1 {
		t.Fatalf("%d patches, want 1", len(patches))
	}
	p := patches[0]
	if p.GetName() != "web" || p.GetPatchType() != "merge" {
		t.Errorf("patch of %q with type %q", p.GetName(), p.GetPatchType())
	}
	var got, want any
	if err := json.Unmarshal([]byte(p.GetPatch()), &got); err != nil {
		t.Fatalf("patch %q: %v", p.GetPatch(), err)
	}
	_ = json.Unmarshal([]byte(`{"metadata":{"annotations":{"costgate/paused":"true","costgate/old":null}}}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("patch %s", p.GetPatch())
	}
}

const webManifest = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"apps","resourceVersion":"41"},"spec":{"replicas":3,"template":{"spec":{"terminationGracePeriodSeconds":30}}}}`

func TestResourceReadsTheLiveObjectWithWholeNumbersAsInt64(t *testing.T) {
	apps := &fakeApps{getResource: func(*applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error) {
		m := webManifest
		return &applicationpkg.ApplicationResourceResponse{Manifest: &m}, nil
	}}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	o, err := c.Resource(testContext(t), "web-app", deployments, "apps", "web")
	if err != nil {
		t.Fatal(err)
	}
	if replicas, ok := o.Object["spec"].(map[string]any)["replicas"].(int64); !ok || replicas != 3 {
		t.Errorf("replicas %#v, want int64 3", o.Object["spec"].(map[string]any)["replicas"])
	}
	if n, found, err := unstructured.NestedInt64(o.Object, "spec", "template", "spec", "terminationGracePeriodSeconds"); err != nil || !found || n != 30 {
		t.Errorf("terminationGracePeriodSeconds %d, %v, %v", n, found, err)
	}
	reqs := recorded(apps, func() []*applicationpkg.ApplicationResourceRequest { return apps.resources })
	if len(reqs) != 1 {
		t.Fatalf("%d GetResource requests", len(reqs))
	}
	r := reqs[0]
	got := []string{r.GetName(), r.GetGroup(), r.GetVersion(), r.GetKind(), r.GetNamespace(), r.GetResourceName()}
	if want := []string{"web-app", "apps", "v1", "Deployment", "apps", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("asked for %v, want %v", got, want)
	}
}

// What Argo CD answers about one object becomes the Kubernetes API's errors
// the gates act on.
func TestResourceErrorsAreTheKubernetesAPIs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		check    func(error) bool
		resource string
	}{
		{"not in the app", status.Error(codes.InvalidArgument, "Deployment apps web not found as part of application web-app"), apierrors.IsNotFound, "deployments"},
		{"gone", status.Error(codes.NotFound, `deployments.apps "web" not found`), apierrors.IsNotFound, "deployments"},
		{"no such app", status.Error(codes.NotFound, `applications.argoproj.io "web-app" not found`), apierrors.IsNotFound, "applications"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apps := &fakeApps{getResource: func(*applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error) {
				return nil, tc.err
			}}
			srv := startFake(t, apps, nil)
			c := connect(t, srv.addr)
			_, err := c.Resource(testContext(t), "web-app", deployments, "apps", "web")
			if !tc.check(err) {
				t.Fatalf("got %v", err)
			}
			if d := err.(apierrors.APIStatus).Status().Details; d == nil || d.Kind != tc.resource {
				t.Errorf("details %+v, want resource %s", d, tc.resource)
			}
		})
	}
}

func TestPatchResourceSendsTheMergePatchAndReportsAConflict(t *testing.T) {
	conflict := status.Error(codes.Aborted, `Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again`)
	var patched atomic.Int32
	apps := &fakeApps{patchResource: func(*applicationpkg.ApplicationResourcePatchRequest) error {
		if patched.Add(1) == 1 {
			return nil
		}
		return conflict
	}}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)
	ctx := testContext(t)
	patch := []byte(`{"metadata":{"resourceVersion":"41"},"spec":{"replicas":0}}`)

	if err := c.PatchResource(ctx, "web-app", deployments, "apps", "web", patch); err != nil {
		t.Fatal(err)
	}
	err := c.PatchResource(ctx, "web-app", deployments, "apps", "web", patch)
	if !apierrors.IsConflict(err) {
		t.Fatalf("want Conflict, got %v", err)
	}
	if !strings.Contains(err.Error(), "the object has been modified") {
		t.Errorf("conflict says %q", err)
	}
	reqs := recorded(apps, func() []*applicationpkg.ApplicationResourcePatchRequest { return apps.resPatches })
	if len(reqs) != 2 {
		t.Fatalf("%d patches, want 2 (a conflict is not made again)", len(reqs))
	}
	r := reqs[0]
	got := []string{r.GetName(), r.GetGroup(), r.GetVersion(), r.GetKind(), r.GetNamespace(), r.GetResourceName(), r.GetPatchType(), r.GetPatch()}
	if want := []string{"web-app", "apps", "v1", "Deployment", "apps", "web", "application/merge-patch+json", string(patch)}; !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// RBAC's refusal is argocd.ErrPermissionDenied, and the token is never in
// what the user reads, even when the server's message repeats it.
func TestPermissionDeniedNeverShowsTheToken(t *testing.T) {
	denied := status.Errorf(codes.PermissionDenied, "permission denied: applications, update, apps/web-app, sub: costgate, token %s", testToken)
	apps := &fakeApps{
		getResource: func(*applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error) {
			return nil, denied
		},
		patchResource: func(*applicationpkg.ApplicationResourcePatchRequest) error { return denied },
		get: func(context.Context, *applicationpkg.ApplicationQuery) (*v1alpha1.Application, error) {
			return nil, status.Errorf(codes.Unauthenticated, "invalid session: token %s has expired", testToken)
		},
	}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)
	ctx := testContext(t)

	_, err := c.Resource(ctx, "web-app", deployments, "apps", "web")
	checkDenied(t, "Resource", err)
	err = c.PatchResource(ctx, "web-app", deployments, "apps", "web", []byte(`{}`))
	checkDenied(t, "PatchResource", err)

	_, err = c.Application(ctx, "web-app")
	if err == nil || !strings.Contains(err.Error(), "refused the token") || strings.Contains(err.Error(), testToken) {
		t.Errorf("Unauthenticated: %v", err)
	}
	if errors.Is(err, argocd.ErrPermissionDenied) {
		t.Errorf("a refused token is no RBAC denial: %v", err)
	}
	srv.onlyToken(t)
}

func checkDenied(t *testing.T, call string, err error) {
	t.Helper()
	if !errors.Is(err, argocd.ErrPermissionDenied) {
		t.Errorf("%s: want ErrPermissionDenied, got %v", call, err)
		return
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("%s: the token is in %q", call, err)
	}
	if !strings.Contains(err.Error(), "check Argo CD RBAC") || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("%s: %q", call, err)
	}
}

// ResourcesOf reads the objects of one kind in one namespace out of the tree,
// skipping any gone since the tree was read.
func TestResourcesOfFiltersTheTreeAndSkipsObjectsGone(t *testing.T) {
	node := func(group, kind, ns, name string) v1alpha1.ResourceNode {
		return v1alpha1.ResourceNode{ResourceRef: v1alpha1.ResourceRef{Group: group, Version: "v1", Kind: kind, Namespace: ns, Name: name}}
	}
	apps := &fakeApps{
		tree: func(q *applicationpkg.ResourcesQuery) (*v1alpha1.ApplicationTree, error) {
			if q.GetApplicationName() != "web-app" {
				return nil, status.Errorf(codes.NotFound, "applications.argoproj.io %q not found", q.GetApplicationName())
			}
			return &v1alpha1.ApplicationTree{Nodes: []v1alpha1.ResourceNode{
				node("apps", "Deployment", "apps", "web"),
				node("apps", "Deployment", "apps", "gone"),
				node("apps", "Deployment", "other", "web"),
				node("apps", "StatefulSet", "apps", "db"),
				node("extensions", "Deployment", "apps", "legacy"),
				node("apps", "Deployment", "apps", "api"),
			}}, nil
		},
		getResource: func(r *applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error) {
			if r.GetResourceName() == "gone" {
				return nil, status.Errorf(codes.InvalidArgument, "Deployment apps gone not found as part of application web-app")
			}
			m := strings.ReplaceAll(webManifest, `"name":"web"`, `"name":"`+r.GetResourceName()+`"`)
			return &applicationpkg.ApplicationResourceResponse{Manifest: &m}, nil
		},
	}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	objs, err := c.ResourcesOf(testContext(t), "web-app", deployments, "apps")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if !reflect.DeepEqual(names, []string{"web", "api"}) {
		t.Errorf("read %v, want [web api]", names)
	}
	var asked []string
	for _, r := range recorded(apps, func() []*applicationpkg.ApplicationResourceRequest { return apps.resources }) {
		asked = append(asked, r.GetGroup()+"/"+r.GetKind()+" "+r.GetNamespace()+"/"+r.GetResourceName())
	}
	if want := []string{"apps/Deployment apps/web", "apps/Deployment apps/gone", "apps/Deployment apps/api"}; !reflect.DeepEqual(asked, want) {
		t.Errorf("asked for %v, want %v", asked, want)
	}

	// Any other failure of a read is the answer.
	apps.set(func() {
		apps.getResource = func(*applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error) {
			return nil, status.Error(codes.Internal, "cache not ready")
		}
	})
	if _, err := c.ResourcesOf(testContext(t), "web-app", deployments, "apps"); err == nil || !strings.Contains(err.Error(), "cache not ready") {
		t.Errorf("a failed read gave %v", err)
	}
	if _, err := c.ResourcesOf(testContext(t), "nope", deployments, "apps"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("the tree of a missing app gave %v", err)
	}
}

func TestCanIAsksArgoCDsRBAC(t *testing.T) {
	acc := &fakeAccount{allowed: map[string]bool{"applications/sync/default/web-app": true}}
	srv := startFake(t, nil, acc)
	c := connect(t, srv.addr)
	ctx := testContext(t)

	if yes, err := c.CanI(ctx, "applications", "sync", "default/web-app"); err != nil || !yes {
		t.Errorf("can sync: %v, %v", yes, err)
	}
	if yes, err := c.CanI(ctx, "applications", "delete", "default/web-app"); err != nil || yes {
		t.Errorf("can delete: %v, %v", yes, err)
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	if len(acc.asked) != 2 || acc.asked[1].Resource != "applications" || acc.asked[1].Action != "delete" || acc.asked[1].Subresource != "default/web-app" {
		t.Errorf("asked %v", acc.asked)
	}
}

// UserInfo names the token's user, as argocd account get-user-info does (who
// opened a gate, in server mode).
func TestUserInfo(t *testing.T) {
	f := startFake(t, nil, nil)
	c := connect(t, f.addr)
	if user, err := c.UserInfo(testContext(t)); err != nil || user != "oncall" {
		t.Errorf("userinfo: %q %v", user, err)
	}
	f.onlyToken(t)
}
