package smoke

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// fakeArgo is Argo CD's API as doctor sees it in server mode.
type fakeArgo struct {
	versionErr error
	loggedIn   bool
	canI       map[string]bool // "action object"
	asked      []string
	noProject  bool
	projectErr error
	repoErr    error
	resources  map[string]*unstructured.Unstructured // "app kind namespace/name"
	apps       []*unstructured.Unstructured
}

func (f *fakeArgo) Resource(_ context.Context, app, _ string, ref rest.ResourceRef) (*unstructured.Unstructured, error) {
	if o, ok := f.resources[app+" "+ref.Kind+" "+ref.Namespace+"/"+ref.Name]; ok {
		return o, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: ref.Group, Resource: ref.Kind}, ref.Name)
}
func (f *fakeArgo) ProjectExists(context.Context, string) (bool, error) {
	return !f.noProject, f.projectErr
}
func (f *fakeArgo) RepositoryRefs(context.Context, string) ([]string, []string, error) {
	return []string{"main"}, nil, f.repoErr
}

func (f *fakeArgo) Server() string { return "argocd.example:443" }
func (f *fakeArgo) Version(context.Context) (string, error) {
	return "v3.6.1", f.versionErr
}
func (f *fakeArgo) UserInfo(context.Context) (bool, string, error) { return f.loggedIn, "oncall", nil }
func (f *fakeArgo) Applications(context.Context, string) ([]*unstructured.Unstructured, error) {
	return f.apps, nil
}
func (f *fakeArgo) ApplicationSets(context.Context, string) ([]*unstructured.Unstructured, error) {
	return nil, nil
}
func (f *fakeArgo) CanI(_ context.Context, _, action, object string) (bool, error) {
	f.asked = append(f.asked, action+" "+object)
	return f.canI[action+" "+object], nil
}

// Server mode runs the same table as core mode, in the same order: what
// needs the Kubernetes API is skipped saying how to leave server mode in the
// running CLI, and a server or token that fails ends the run.
func TestServerModeRunsTheOneTable(t *testing.T) {
	env := smoketest.Sandbox(t, clusters)
	argo := &fakeArgo{loggedIn: true, canI: map[string]bool{}}
	d := &Doctor{Argo: argo, Env: env, Now: func() time.Time { return now }, GatePolicies: map[string][]string{}}
	checks := d.Run(context.Background())
	want := "argocd-server=PASS argocd-token=PASS cluster=SKIP argocd-crds=SKIP argocd-namespace=SKIP argocd-controllers=SKIP argocd-bootstrap=PASS groups-fresh=PASS " +
		"profile-objects=SKIP profile-apps=SKIP external-secrets=SKIP gpu-capacity=SKIP default-storageclass=SKIP loadbalancers=SKIP serving-secrets=SKIP argocd-rbac=WARN"
	if got := verdicts(checks); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if m := checks[2].Message; !strings.Contains(m, "run without --argocd-server") {
		t.Errorf("under kubectl the skip says %q", m)
	}
	env.Host = platform.HostArgoCD
	if m := d.Run(context.Background())[2].Message; !strings.Contains(m, "run with --core") {
		t.Errorf("under argocd the skip says %q", m)
	}

	argo.versionErr = errors.New("connection refused")
	checks = d.Run(context.Background())
	if len(checks) != 1 || checks[0].Status != Fail || !strings.Contains(checks[0].Fix, "check --server") {
		t.Errorf("server down under argocd: %+v", checks)
	}
	env.Host = platform.HostKubectl
	if c := d.Run(context.Background())[0]; !strings.Contains(c.Fix, "check --argocd-server") {
		t.Errorf("server down under kubectl: %+v", c)
	}
	argo.versionErr, argo.loggedIn = nil, false
	if checks := d.Run(context.Background()); len(checks) != 2 || checks[1].Status != Fail {
		t.Errorf("token refused: %s", verdicts(checks))
	}
}

// argocd-rbac asks can-i for what each gate declares (get, sync), never for
// an app's resources (can-i cannot answer those), and names what is missing.
func TestServerModeRBACAsksWhatTheGatesDeclare(t *testing.T) {
	env := smoketest.Sandbox(t, clusters)
	argo := &fakeArgo{loggedIn: true, canI: map[string]bool{}}
	for _, a := range env.CatalogApps(platform.Profile{Layers: env.LayerNames()}) {
		argo.canI["get platform/"+a.Name] = true
	}
	d := &Doctor{Argo: argo, Env: env, GatePolicies: map[string][]string{
		"raw-vllm": {"applications, get, platform/raw-vllm", "applications, sync, platform/raw-vllm", "applications, update/apps/Deployment/serving/raw-vllm, platform/raw-vllm"},
	}}
	c := d.argoRBAC(context.Background())
	if c.Status != Warn || c.Message != "the token may not: applications, sync, platform/raw-vllm" {
		t.Errorf("got %+v", c)
	}
	for _, q := range argo.asked {
		if strings.HasPrefix(q, "update/") {
			t.Errorf("asked can-i %q", q)
		}
	}
	argo.canI["sync platform/raw-vllm"] = true
	if c := d.argoRBAC(context.Background()); c.Status != Pass {
		t.Errorf("all granted: %+v", c)
	}
}
