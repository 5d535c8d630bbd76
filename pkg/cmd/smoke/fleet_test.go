package smoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	authv1 "k8s.io/api/authorization/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
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

// An environment a hub deploys to a cluster of its own: chat reads the key
// Secret and port-forwards on that cluster (its cluster.context), not on the
// hub the current context points at.
func TestChatOnASpoke(t *testing.T) {
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", map[string]platformtest.Edit{
		"platform.yaml": func(s string) string {
			return s + "cluster:\n  context: edge\n  hub:\n    context: hub\n    destination: edge\n"
		},
	})
	kubeconfig := clitest.Kubeconfig(t, "hub", "edge")
	h := clitest.New(t, "kubectl-smoke") // the hub: no key Secret there
	h.Kubeconfig = kubeconfig
	h.Clusters = map[string]*kubetest.Fake{"edge": kubetest.NewClient(smoketest.KeySecret(smoketest.APIKey))}
	forward := smoketest.ForwardTo(t, smoketest.ChatServer(t, smoketest.Answers("Kubernetes runs containers.")))
	var forwardedOn string
	h.Forward = func(ctx context.Context, c *kube.Client, namespace, service string, port int32) (*kube.Forward, error) {
		forwardedOn = c.Context
		return forward(ctx, c, namespace, service, port)
	}
	r := h.Run(smoke.NewCmd, "chat", "raw-vllm", "--env", "sandbox", "--dir", dir)
	if r.Code != 0 || forwardedOn != "edge" {
		t.Errorf("exit %d, port-forward on %q: want 0 on edge\n%s", r.Code, forwardedOn, r.Stderr)
	}
}

// doctor on an environment a hub deploys: Argo CD's checks read the hub, the
// workloads' (nodes, StorageClass, Services, Secrets) read the environment's
// own cluster: an empty spoke fails them while the hub holds everything.
func TestDoctorOnASpoke(t *testing.T) {
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", map[string]platformtest.Edit{
		"platform.yaml": func(s string) string {
			return s + "cluster:\n  context: edge\n  hub:\n    context: hub\n    destination: edge\n"
		},
	})
	kubeconfig := clitest.Kubeconfig(t, "hub", "edge")
	for name, spoke := range map[string]*kubetest.Fake{"empty": kubetest.NewClient(), "healthy": kubetest.NewClient(healthy(t, "serving")...)} {
		t.Run(name, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
			allow(h, smoketest.AllowAll)
			smoketest.Allow(spoke, smoketest.AllowAll)
			h.Kubeconfig, h.Clusters = kubeconfig, map[string]*kubetest.Fake{"edge": spoke}
			r := h.Run(smoke.NewCmd, "doctor", "--profile", "serving", "--env", "sandbox", "--dir", dir, "-o", "json")
			for _, check := range []string{"default-storageclass", "serving-secrets"} {
				failed := strings.Contains(r.Stdout, `"name": "`+check+`",
    "status": "FAIL"`)
				if failed != (name == "empty") {
					t.Errorf("%s spoke: %s failed = %v\n%s", name, check, failed, r.Stdout)
				}
			}
			if strings.Contains(r.Stdout, `"name": "argocd-controllers",
    "status": "FAIL"`) {
				t.Errorf("%s spoke: Argo CD's checks must read the hub\n%s", name, r.Stdout)
			}
		})
	}
}
