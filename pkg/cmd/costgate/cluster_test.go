package costgate_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

// twoContexts is a kubeconfig with a dev cluster (current) and a prod one.
const twoContexts = `apiVersion: v1
kind: Config
current-context: dev
clusters:
- {name: dev, cluster: {server: "https://dev.example.com:6443"}}
- {name: prod, cluster: {server: "https://PROD.example.com/"}}
contexts:
- {name: dev, context: {cluster: dev, user: u}}
- {name: prod, context: {cluster: prod, user: u}}
users:
- {name: u, user: {token: not-a-secret}}
`

// envWithCluster is a copy of the sandbox whose platform.yaml names its
// cluster with this cluster: block ("" leaves it out), and a kubeconfig.
func envWithCluster(t *testing.T, cluster string) (dir, kubeconfig string) {
	t.Helper()
	dir = platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", map[string]platformtest.Edit{
		"platform.yaml": func(s string) string { return s + cluster },
	})
	kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, kubeconfig
}

// An environment that names its cluster is used without --context, and a
// writing verb is refused on any other cluster before it sends a request,
// naming both servers and the fix; a reading verb warns and reads.
func TestTheEnvironmentsClusterIsUsedAndAnotherRefused(t *testing.T) {
	run := func(t *testing.T, cluster string, args ...string) (*clitest.Harness, clitest.Result) {
		dir, kubeconfig := envWithCluster(t, cluster)
		h := clitest.New(t, "kubectl-costgate", everyState(t)...)
		h.Kubeconfig = kubeconfig
		return h, h.Run(costgate.NewCmd, append(args, "--env", "sandbox", "--dir", dir)...)
	}
	const prod = "cluster:\n  context: prod\n  server: https://prod.example.com:443\n"

	t.Run("its context by default", func(t *testing.T) {
		h, r := run(t, prod, "list")
		if r.Code != 0 || !slices.Equal(h.Contexts, []string{"prod"}) || strings.Contains(r.Stderr, "warning") {
			t.Errorf("exit %d, contexts %v, want 0 on [prod] without a warning\n%s", r.Code, h.Contexts, r.Stderr)
		}
	})
	t.Run("no cluster: the current context, as before", func(t *testing.T) {
		h, r := run(t, "", "list")
		if r.Code != 0 || !slices.Equal(h.Contexts, []string{"dev"}) || strings.Contains(r.Stderr, "warning") {
			t.Errorf("exit %d, contexts %v, want 0 on [dev]\n%s", r.Code, h.Contexts, r.Stderr)
		}
	})
	for name, cluster := range map[string]string{"by server": prod, "by context": "cluster:\n  context: prod\n"} {
		t.Run("writes refused "+name, func(t *testing.T) {
			h, r := run(t, cluster, "up", "raw-vllm", "--context", "dev")
			want := "the current context dev is https://dev.example.com:6443: nothing was written; pass --context prod"
			if r.Code != 1 || !strings.Contains(r.Stderr, "error: environment sandbox is ") || !strings.Contains(r.Stderr, want) {
				t.Errorf("exit %d, want 1 with %q\n%s", r.Code, want, r.Stderr)
			}
			if n := len(h.Fake.Dynamic.Actions()) + len(h.Fake.Typed.Actions()); n != 0 {
				t.Errorf("%d requests were sent to the wrong cluster: %v", n, h.Fake.Dynamic.Actions())
			}
		})
	}
	t.Run("reads warn", func(t *testing.T) {
		_, r := run(t, prod, "list", "--context", "dev")
		want := "warning: environment sandbox is https://prod.example.com:443 (platform.yaml cluster.server), the current context dev is https://dev.example.com:6443: reading it anyway (pass --context prod)\n"
		if r.Code != 0 || strings.Count(r.Stderr, want) != 1 || !strings.Contains(r.Stdout, "raw-vllm") {
			t.Errorf("exit %d, want 0, the list and one warning %q\n%s%s", r.Code, want, r.Stdout, r.Stderr)
		}
	})
	t.Run("a context the kubeconfig lacks", func(t *testing.T) {
		h, r := run(t, "cluster:\n  context: staging\n", "list")
		want := "environment sandbox uses the kubeconfig context staging (cluster.context in "
		if r.Code != 1 || !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "platform.yaml), which the kubeconfig does not have") {
			t.Errorf("exit %d, want 1 with %q\n%s", r.Code, want, r.Stderr)
		}
		if len(h.Fake.Dynamic.Actions()) != 0 {
			t.Error("requests were sent")
		}
	})
	t.Run("a bad cluster block", func(t *testing.T) {
		_, r := run(t, "cluster:\n  server: prod.example.com\n", "list")
		if r.Code != 1 || !strings.Contains(r.Stderr, "cluster.server") || !strings.Contains(r.Stderr, `"prod.example.com" is not an API server URL`) {
			t.Errorf("exit %d, want 1 naming cluster.server\n%s", r.Code, r.Stderr)
		}
	})
}

// In server mode the environment's Argo CD is cluster.argocdServer: a write
// through another is refused before any request, a read warns.
func TestTheEnvironmentsArgoCDIsUsedAndAnotherRefused(t *testing.T) {
	dir, kubeconfig := envWithCluster(t, "cluster:\n  context: prod\n  argocdServer: argocd.prod.example.com\n")
	h := clitest.New(t, "kubectl-costgate")
	h.Kubeconfig = kubeconfig
	t.Setenv("ARGOCD_CONFIG_DIR", t.TempDir())
	server := []string{"--argocd-server", "127.0.0.1:1", "--auth-token", "not-a-token", "--plaintext", "--env", "sandbox", "--dir", dir}
	r := h.Run(costgate.NewCmd, append([]string{"up", "raw-vllm"}, server...)...)
	want := "error: environment sandbox is deployed by the Argo CD at argocd.prod.example.com (platform.yaml cluster.argocdServer), this command talks to 127.0.0.1:1: nothing was written; pass --argocd-server argocd.prod.example.com\n"
	if r.Code != 1 || r.Stderr != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", r.Code, r.Stderr, want)
	}
	r = h.Run(costgate.NewCmd, append([]string{"list"}, server...)...)
	if !strings.Contains(r.Stderr, "warning: environment sandbox is deployed by the Argo CD at argocd.prod.example.com") || !strings.Contains(r.Stderr, "reading it anyway") {
		t.Errorf("list through another Argo CD: want a warning\n%s", r.Stderr)
	}
}
