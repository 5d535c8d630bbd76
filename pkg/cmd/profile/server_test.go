package profile_test

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// argoHarness runs argocd-profile in server mode against a fake Argo CD API
// holding profile's apps, every one Synced and Healthy (gated ones absent);
// the Kubernetes client fails if anything asks for it.
func argoHarness(t *testing.T, profileName string) (*clitest.Harness, *resttest.Server) {
	env, err := platform.Load(clitest.Clusters(t), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := env.Profile(profileName)
	expected, err := env.ExpectedApps(p)
	if err != nil {
		t.Fatal(err)
	}
	var apps []*unstructured.Unstructured
	for _, a := range expected {
		if !a.Gated {
			apps = append(apps, resttest.App(a.Name, "Synced", "Healthy"))
		}
	}
	fake := resttest.New(t, apps...)
	h := clitest.New(t, "argocd-profile")
	h.ClientErr = errors.New("server mode must not build a Kubernetes client")
	h.Environ = map[string]string{"ARGOCD_SERVER": fake.Host(), "ARGOCD_AUTH_TOKEN": resttest.Token, "ARGOCD_OPTS": "--plaintext"}
	return h, fake
}

func TestServerModeWaitAndStatus(t *testing.T) {
	h, fake := argoHarness(t, "serving")
	r := h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "wait", "serving")...)
	r.Stdout = clitest.Normalize(r.Stdout, fake.Host(), "$ARGOCD")
	clitest.Golden(t, "server-wait-serving", r.String())
	r = h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "status")...)
	clitest.Golden(t, "server-status", r.String())
}

// A refused token ends the wait at once, saying so, without the token.
func TestServerModeWaitRefusedToken(t *testing.T) {
	h, fake := argoHarness(t, "serving")
	h.Environ["ARGOCD_AUTH_TOKEN"] = "wrong-" + resttest.Token
	r := h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "wait", "serving", "--timeout", "1m")...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "refused the token (401 Unauthenticated)") || strings.Contains(r.String(), resttest.Token) {
		t.Errorf("%s", clitest.Normalize(r.String(), fake.Host(), "$ARGOCD"))
	}
}
