package smoke_test

import (
	"regexp"
	"strings"
	"testing"

	authv1 "k8s.io/api/authorization/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
)

// Under argocd, doctor's fixes and run's messages name argocd's commands:
// the name reaches what makes them, nothing is rewritten on the way out.
func TestUnderArgoCDNothingPrintedSaysKubectl(t *testing.T) {
	kubectlPlugin := regexp.MustCompile(`kubectl (profile|costgate|smoke)`)
	h := clitest.New(t, "argocd-smoke", healthy(t, "platform")...)
	allow(h, func(authv1.ResourceAttributes) bool { return true })
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"doctor", "--profile", "serving"}, "argocd profile apply serving --env sandbox"},
		{[]string{"run"}, "see argocd profile list"},
	} {
		r := h.Run(smoke.NewCmd, clitest.Args(t, "sandbox", append(tc.args, "--core")...)...)
		out := r.Stdout + r.Stderr
		if !strings.Contains(out, tc.want) {
			t.Errorf("%v: want %q in:\n%s", tc.args, tc.want, r)
		}
		if m := kubectlPlugin.FindString(out); m != "" {
			t.Errorf("%v under argocd says %q:\n%s", tc.args, m, r)
		}
	}
}
