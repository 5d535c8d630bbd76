package profile_test

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// profile status --all-envs: one line per environment, each read on its own
// cluster; an environment whose cluster refuses is a line that says why while
// the other's is whole, and exit 1; -o json holds each environment's status.
func TestStatusAllEnvs(t *testing.T) {
	refused := kubetest.NewClient()
	refused.Dynamic.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.9.9.9:443: connect: connection refused")
	})
	for _, output := range []string{"", "json"} {
		h := clitest.New(t, "kubectl-profile")
		dir := h.Fleet("sandbox", "edge")
		h.Clusters = map[string]*kubetest.Fake{"edge": refused}
		args := []string{"status", "--all-envs", "--dir", dir}
		name := "status-all-envs"
		if output != "" {
			args, name = append(args, "-o", output), name+"-"+output
		}
		r := h.Run(profile.NewCmd, args...)
		clitest.Golden(t, name, r.String())
		if r.Code != 1 || !strings.Contains(r.Stderr, "1 of 2 environment(s) could not be read: edge") || !strings.Contains(r.Stdout, "connection refused") {
			t.Errorf("exit %d: want 1, edge's reason and sandbox's line\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
	}
}
