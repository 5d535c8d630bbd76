package costgate_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

var kubectlPlugin = regexp.MustCompile(`kubectl (profile|costgate|smoke)`)

// Under argocd, what costgate prints names argocd's commands, on stdout and
// stderr alike: the name is passed to what makes the message, nothing is
// rewritten on the way out.
func TestUnderArgoCDNothingPrintedSaysKubectl(t *testing.T) {
	h := clitest.New(t, "argocd-costgate")
	for _, a := range []string{"raw-vllm", "coder-chat", "kserve-demo"} {
		store(t, h, kube.Applications, application(t, a, "OutOfSync", "Missing"))
	}
	authorize(h)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "-o", "json"}, "not deployed yet: argocd costgate sync raw-vllm"},
		{[]string{"up", "raw-vllm", "--replicas", "0"}, "use argocd costgate down raw-vllm"},
		{[]string{"pause", "raw-vllm"}, "use argocd costgate up/down raw-vllm"},
		{[]string{"up"}, "see `argocd costgate list`"},
		{[]string{"down", "raw-vllm", "--wait=false"}, "sync the app first (argocd costgate sync raw-vllm)"},
	} {
		r := h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", append(tc.args, "--core")...)...)
		out := r.Stdout + r.Stderr
		if !strings.Contains(out, tc.want) {
			t.Errorf("%v: want %q in:\n%s", tc.args, tc.want, r)
		}
		if m := kubectlPlugin.FindString(out); m != "" {
			t.Errorf("%v under argocd says %q:\n%s", tc.args, m, r)
		}
	}
}
