package costgate_test

import (
	"path/filepath"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

func TestLintPassesOnTheSandbox(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate")
	golden(t, "lint/sandbox", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "lint")...))
}

// A copy of the sandbox with a gate broken twice: raw-vllm auto-synced with
// selfHeal, and its replicas not ignored. Each finding names the file and the
// fix; exit 1. No cluster is needed. (A gate without a price does not load:
// TestLoadRefusesAGateWithoutAPrice.)
func TestLintFindsABrokenTree(t *testing.T) {
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", map[string]platformtest.Edit{
		"catalog/serving-core/raw-vllm.yaml": func(s string) string {
			s = platformtest.Replace(t, "  syncPolicy:\n", "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n")(s)
			return platformtest.Replace(t, "jsonPointers: [/spec/replicas]", "jsonPointers: [/spec/template]")(s)
		},
	})
	for _, output := range []string{"", "json"} {
		h := clitest.New(t, "kubectl-costgate")
		h.ClientErr = errNoCluster
		args := []string{"lint", "--env", "sandbox", "--dir", dir}
		if output != "" {
			args = append(args, "-o", output)
		}
		r := h.Run(costgate.NewCmd, args...)
		r.Stdout = clitest.Normalize(r.Stdout, dir, "<copy>")
		name := "lint/broken"
		if output != "" {
			name += "-" + output
		}
		golden(t, name, h, r)
	}
}

// adoptRoot is the adopted repository of pkg/platform/testdata/adopt, whose
// manual-sync apps have no gate annotation.
func adoptRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "platform", "testdata", "adopt"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// lint warns about each manual-sync app without a gate annotation, naming the
// file and the annotations to add, and passes (exit 0) unless --strict.
func TestLintWarnsAboutTheAdoptedTree(t *testing.T) {
	root := adoptRoot(t)
	for name, args := range map[string][]string{"adopt": nil, "adopt-json": {"-o", "json"}, "adopt-strict": {"--strict"}} {
		h := clitest.New(t, "kubectl-costgate")
		h.ClientErr = errNoCluster
		r := h.Run(costgate.NewCmd, append([]string{"lint", "--env", "team", "--dir", filepath.Join(root, "clusters")}, args...)...)
		r.Stdout = clitest.Normalize(r.Stdout, root, "$ROOT")
		golden(t, "lint/"+name, h, r)
	}
}

// A gate annotation that does not parse stops lint before any check: the
// error names the file, the Application and the annotation; exit 1. A max-open
// shorter than the idle-after is a warning: exit 0 (1 with --strict).
func TestLintNamesABadUptimeAndWarnsAboutMaxOpen(t *testing.T) {
	const idle = "    costgate.aidev.io/idle-after: 30m\n"
	for name, annotations := range map[string]string{
		"bad-uptime": idle + "    costgate.aidev.io/uptime: Mon-Fri 07:00-20:00 Europe/Berln\n",
		"max-open":   idle + "    costgate.aidev.io/max-open: 10m\n    costgate.aidev.io/uptime: Mon-Fri 07:00-20:00 Europe/Berlin\n",
	} {
		dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", map[string]platformtest.Edit{
			"catalog/llm-d/llm-d.yaml": platformtest.Replace(t, idle, annotations),
		})
		h := clitest.New(t, "kubectl-costgate")
		h.ClientErr = errNoCluster
		r := h.Run(costgate.NewCmd, "lint", "--env", "sandbox", "--dir", dir)
		r.Stdout = clitest.Normalize(r.Stdout, dir, "<copy>")
		r.Stderr = clitest.Normalize(r.Stderr, dir, "<copy>")
		golden(t, "lint/"+name, h, r)
	}
}
