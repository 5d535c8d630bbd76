package profile_test

import (
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
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
