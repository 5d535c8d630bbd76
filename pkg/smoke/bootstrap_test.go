package smoke

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

func TestArgoBootstrapPassesOnAHealthyCluster(t *testing.T) {
	d, fake := newDoctor(t, "serving", healthy(t, "serving")...)
	smoketest.Allow(fake, smoketest.AllowAll)
	c := d.argoBootstrap(context.Background())
	want := "Argo CD v3.6.1 (image quay.io/argoproj/argocd:v3.6.1 of Deployment argocd/argocd-server) is at least v3.0.0; " +
		"the repo-server read file:///KP_SANDBOX_REPO for ApplicationSet layer-platform and 1 more; AppProject platform exists"
	if c.Status != Pass || c.Message != want {
		t.Errorf("got %s %q\nwant %q", c.Status, c.Message, want)
	}
}

func isArgoServer(o runtime.Object) bool { _, ok := o.(*appsv1.Deployment); return ok }

// Each prerequisite fails on its own line with its own fix.
func TestArgoBootstrapFailures(t *testing.T) {
	noProject := func(o runtime.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		return ok && u.GetKind() == "AppProject"
	}
	unreadable := func(objs []runtime.Object) []runtime.Object {
		for i, o := range objs {
			if u, ok := o.(*unstructured.Unstructured); ok && u.GetKind() == "ApplicationSet" && u.GetName() == "layer-platform" {
				u = u.DeepCopy()
				_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "ErrorOccurred", "status": "True",
					"message": "error generating params from git: rpc error: code = Unknown desc = repository not found: file:///KP_SANDBOX_REPO"}}, "status", "conditions")
				objs[i] = u
			}
		}
		return objs
	}
	for _, tc := range []struct {
		name      string
		objs      []runtime.Object
		line, fix string
	}{
		{"Argo CD too old", append(smoketest.Without(healthy(t, "serving"), isArgoServer), smoketest.ArgoServer("v2.14.11")),
			"Argo CD v2.14.11 (image quay.io/argoproj/argocd:v2.14.11 of Deployment argocd/argocd-server) is older than v3.0.0, the oldest this tree supports (platform.yaml argocd.minVersion)",
			"upgrade Argo CD to v3.0.0 or newer (the argo-cd Helm release, docs/bootstrap.md)"},
		{"AppProject missing", smoketest.Without(healthy(t, "serving"), noProject),
			"AppProject platform (platform.yaml project:) does not exist in argocd",
			"kubectl profile apply PROFILE --env sandbox creates it from the tree (or create AppProject platform in argocd)"},
		{"repository unreachable", unreadable(healthy(t, "serving")),
			"the repo-server cannot read file:///KP_SANDBOX_REPO: ApplicationSet layer-platform: error generating params from git: rpc error: code = Unknown desc = repository not found: file:///KP_SANDBOX_REPO",
			"make file:///KP_SANDBOX_REPO exist and readable by the repo-server (a public repository, or a repository Secret with its credentials in argocd)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, fake := newDoctor(t, "serving", tc.objs...)
			smoketest.Allow(fake, smoketest.AllowAll)
			c := d.argoBootstrap(context.Background())
			if c.Status != Fail || !strings.Contains(c.Message+"\n", tc.line+"\n") || c.Fix != tc.fix {
				t.Errorf("got %s %q (fix %q)\nwant the line %q, fix %q", c.Status, c.Message, c.Fix, tc.line, tc.fix)
			}
		})
	}
}

// Without a minimum in platform.yaml the version is reported, not checked.
func TestArgoBootstrapWithoutAMinimumVersion(t *testing.T) {
	d, fake := newDoctor(t, "serving", healthy(t, "serving")...)
	smoketest.Allow(fake, smoketest.AllowAll)
	d.Env.Descriptor.ArgoCD = nil
	if p := d.argoVersionPart(context.Background()); p.status != Pass || !strings.Contains(p.message, "platform.yaml sets no argocd.minVersion: not checked") {
		t.Errorf("%+v", p)
	}
}

// Server mode asks Argo CD: /api/version, the project, the repo-server's refs.
func TestArgoBootstrapInServerMode(t *testing.T) {
	env := smoketest.Sandbox(t, clusters)
	argo := &fakeArgo{loggedIn: true}
	d := &Doctor{Argo: argo, Env: env}
	if c := d.argoBootstrap(context.Background()); c.Status != Pass ||
		c.Message != "Argo CD v3.6.1 (/api/version) is at least v3.0.0; the repo-server lists 1 branch(es) and 0 tag(s) of file:///KP_SANDBOX_REPO; AppProject platform exists" {
		t.Errorf("%+v", c)
	}
	argo.noProject, argo.repoErr = true, errors.New("Argo CD at argocd.example:443: 500 Internal Server Error: repository not found")
	c := d.argoBootstrap(context.Background())
	want := "Argo CD v3.6.1 (/api/version) is at least v3.0.0\n" +
		"the repo-server cannot list the refs of file:///KP_SANDBOX_REPO: Argo CD at argocd.example:443: 500 Internal Server Error: repository not found\n" +
		"AppProject platform (platform.yaml project:) does not exist in argocd"
	if c.Status != Fail || c.Message != want {
		t.Errorf("got %q\nwant %q", c.Message, want)
	}
}

// permissionDenied is what the REST client returns when Argo CD's RBAC
// refuses a request (a real client, over a server that answers 403).
func permissionDenied(t *testing.T) error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":"permission denied","code":7,"message":"permission denied: repositories, get"}`)
	}))
	t.Cleanup(srv.Close)
	c, err := rest.New(rest.Options{Server: strings.TrimPrefix(srv.URL, "http://"), AuthToken: "t", PlainText: true}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.RepositoryRefs(context.Background(), "https://example.com/repo.git")
	if !rest.IsPermissionDenied(err) {
		t.Fatalf("%v is not a permission denied", err)
	}
	return err
}

// A token Argo CD's RBAC keeps from repositories and projects (an on-call
// one) is not a bootstrap failure: the apps it reads are the evidence.
func TestArgoBootstrapWithARestrictedToken(t *testing.T) {
	env := smoketest.Sandbox(t, clusters)
	denied := permissionDenied(t)
	app := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "raw-vllm"},
		"spec":   map[string]any{"source": map[string]any{"repoURL": env.Config.RepoURL}},
		"status": map[string]any{"sync": map[string]any{"revision": "abc123"}}}}
	argo := &fakeArgo{loggedIn: true, repoErr: denied, projectErr: denied, apps: []*unstructured.Unstructured{app}}
	d := &Doctor{Argo: argo, Env: env}
	c := d.argoBootstrap(context.Background())
	want := "Argo CD v3.6.1 (/api/version) is at least v3.0.0; the repo-server read file:///KP_SANDBOX_REPO for Application raw-vllm; " +
		"AppProject platform holds 1 Application(s) (the token may not get projects: Argo CD RBAC)"
	if c.Status != Pass || c.Message != want {
		t.Errorf("got %s %q\nwant PASS %q", c.Status, c.Message, want)
	}
	d = &Doctor{Argo: &fakeArgo{loggedIn: true, repoErr: denied, projectErr: denied}, Env: env}
	if c := d.argoBootstrap(context.Background()); c.Status != Warn || !strings.Contains(c.Message, "the token may not ask the repo-server") ||
		!strings.Contains(c.Message, "cannot tell: the token may not get projects") {
		t.Errorf("no app to read: got %s %q, want WARN saying what it cannot tell", c.Status, c.Message)
	}
}
