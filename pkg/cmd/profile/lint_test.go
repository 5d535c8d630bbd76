package profile_test

import (
	"errors"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

// lint needs no cluster: the client fails if anything asks for one.
var errNoCluster = errors.New("lint must not contact the cluster")

func TestLintPassesOnBothTrees(t *testing.T) {
	for _, env := range []string{"sandbox", "ai-dev"} {
		h := clitest.New(t, "kubectl-profile")
		h.ClientErr = errNoCluster
		clitest.Golden(t, "lint-"+env, h.Run(profile.NewCmd, clitest.Args(t, env, "lint")...).String())
	}
}

// A copy of the sandbox with an unpinned image and a Secret nothing produces:
// each finding names the file, the field and the fix; exit 1; as text and JSON.
func TestLintFindsABrokenTree(t *testing.T) {
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", map[string]platformtest.Edit{
		"workloads/raw-vllm/deployment.yaml": func(s string) string {
			s = platformtest.Replace(t, "image: vllm/vllm-openai:v0.11.0", "image: vllm/vllm-openai")(s)
			return platformtest.Replace(t, "secretKeyRef: {name: vllm-api-key, key: api-key, optional: true}", "secretKeyRef: {name: vllm-api-key, key: api-key}")(s)
		},
	})
	for _, output := range []string{"", "json"} {
		h := clitest.New(t, "kubectl-profile")
		h.ClientErr = errNoCluster
		args := []string{"lint", "--env", "sandbox", "--dir", dir}
		name := "lint-broken"
		if output != "" {
			args = append(args, "-o", output)
			name += "-" + output
		}
		r := h.Run(profile.NewCmd, args...)
		r.Stdout = clitest.Normalize(r.Stdout, dir, "<copy>")
		clitest.Golden(t, name, r.String())
	}
}
