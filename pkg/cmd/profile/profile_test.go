package profile_test

import (
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

func TestListGolden(t *testing.T) {
	for _, out := range []string{"", "wide", "json"} {
		h := clitest.New(t, "kubectl-profile")
		args := clitest.Args(t, "sandbox", "list")
		if out != "" {
			args = append(args, "-o", out)
		}
		r := h.Run(profile.NewCmd, args...)
		clitest.Golden(t, "list-"+out, r.String())
	}
}

func TestApplyPlatformOnEmptyCluster(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	r := h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "apply", "platform")...)
	clitest.Golden(t, "apply-platform", r.String()+"--- writes\n"+h.Fake.Writes())
}

var _ = kubetest.Objects
