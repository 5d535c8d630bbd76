package smoke_test

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// argocd smoke doctor with only an Argo CD token: the checks Argo CD's API can
// answer, each other one SKIP saying it needs the Kubernetes API; a missing
// RBAC right is a WARN naming the policy.
func TestServerModeDoctor(t *testing.T) {
	env, err := platform.Load(clitest.Clusters(t), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.Profile("serving")
	expected, _ := env.ExpectedApps(p)
	var apps []*unstructured.Unstructured
	for _, a := range expected {
		if !a.Gated {
			apps = append(apps, resttest.App(a.Name, "Synced", "Healthy"))
		}
	}
	fake := resttest.New(t, apps...)
	for _, a := range env.CatalogApps(p) {
		fake.CanI["get platform/"+a.Name] = true
		if a.Gate != nil && a.Name != "coder-fim" {
			fake.CanI["sync platform/"+a.Name] = true
		}
	}
	h := clitest.New(t, "argocd-smoke")
	h.ClientErr = errors.New("server mode must not build a Kubernetes client")
	h.Environ = map[string]string{"ARGOCD_SERVER": fake.Host(), "ARGOCD_AUTH_TOKEN": resttest.Token, "ARGOCD_OPTS": "--plaintext"}
	r := h.Run(smoke.NewCmd, clitest.Args(t, "sandbox", "doctor", "--profile", "serving")...)
	r.Stdout = clitest.Normalize(r.Stdout, fake.Host(), "$ARGOCD")
	clitest.Golden(t, "server-doctor", r.String())
}
