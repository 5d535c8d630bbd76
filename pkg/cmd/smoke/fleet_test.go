package smoke_test

import (
	"errors"
	"strings"
	"testing"

	authv1 "k8s.io/api/authorization/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// smoke doctor --all-envs: one line per environment, each checked on its own
// cluster, then what did not pass, led by its environment; an environment
// whose cluster does not answer is a line that says why; exit 1.
func TestDoctorAllEnvs(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
	allow(h, func(authv1.ResourceAttributes) bool { return true })
	down := kubetest.NewClient()
	down.ReadyzErr = errors.New("dial tcp 10.9.9.9:443: connect: connection refused")
	smoketest.Allow(down, func(authv1.ResourceAttributes) bool { return true })
	dir := h.Fleet("sandbox", "edge")
	h.Clusters = map[string]*kubetest.Fake{"edge": down}
	r := h.Run(smoke.NewCmd, "doctor", "--all-envs", "--dir", dir, "--profile", "serving")
	clitest.Golden(t, "doctor-all-envs", normalize(r.String()))
	if r.Code != 1 || !strings.Contains(r.Stderr, "1 of 2 environment(s) failing or not checked: edge") {
		t.Errorf("exit %d: want 1 naming edge only\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "edge      edge      0      0      1      failing") || !strings.Contains(r.Stdout, "edge   cluster   FAIL     cannot reach the cluster at https://edge.example.com") {
		t.Errorf("edge's line or its failing check is missing:\n%s", r.Stdout)
	}
}
