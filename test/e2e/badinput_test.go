package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

func TestProfileBadInputIsRefusedAndWritesNothing(t *testing.T) {
	s := sandbox.Need(t, sb)
	root, err := sandbox.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(root, "clusters")
	broken := platformtest.CopyEnv(t, clusters, "sandbox", map[string]platformtest.Edit{
		"config.yaml": platformtest.Replace(t, "namespace: argocd", "namespace: [argocd"),
	})

	before := s.ProfileState(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown profile", []string{"apply", "everything", "--env", "sandbox", "--dir", clusters},
			[]string{`unknown profile "everything"`, "valid: platform, serving, llm-gateway, full"}},
		{"unknown env", []string{"apply", "full", "--env", "prod", "--dir", clusters},
			[]string{`unknown environment "prod"`, "known: ai-dev, sandbox, sandbox-spoke"}},
		{"malformed YAML", []string{"apply", "full", "--env", "sandbox", "--dir", broken},
			[]string{filepath.Join("sandbox", "config.yaml"), "line 6"}},
		{"bad dry-run flag", []string{"apply", "full", "--env", "sandbox", "--dir", clusters, "--dry-run=maybe"},
			[]string{`--dry-run="maybe"`}},
		{"no profile", []string{"wait", "--env", "sandbox", "--dir", clusters},
			[]string{"wait takes exactly one PROFILE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Plugin(t, time.Minute, "kubectl-profile", tc.args...)
			if r.Code != 1 {
				t.Errorf("exit %d, want 1", r.Code)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r)
				}
			}
		})
	}
	if after := s.ProfileState(t); after != before {
		t.Errorf("a refused command changed the cluster:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestProfileKubeconfigPointingNowhere(t *testing.T) {
	sandbox.Need(t, sb)
	root, _ := sandbox.ProjectRoot()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	// A port nothing listens on: 1 is privileged and unused here.
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
current-context: gone
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r := sandbox.RunPlugin(t, time.Minute, append(os.Environ(), "KUBECONFIG="+kubeconfig),
		"kubectl-profile", "apply", "full", "--env", "sandbox", "--dir", filepath.Join(root, "clusters"), "--request-timeout", "5s")
	if r.Code != 1 || !strings.Contains(r.Stderr, `cannot reach the cluster at https://127.0.0.1:1 (context "gone")`) {
		t.Fatalf("want a clear unreachable error: %s", r)
	}
}

// A real API server without Argo CD: the error says so instead of a 404.
func TestProfileWithoutArgoCDSaysSo(t *testing.T) {
	s := sandbox.Need(t, sb)
	t.Parallel()
	dir, out, err := sandbox.RunScript(t, "up.sh", nil, []string{"KP_SANDBOX_ONLY=apiserver"})
	if err != nil {
		t.Fatalf("starting a bare API server: %v\n%s", err, out)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	r := sandbox.RunPlugin(t, time.Minute, append(os.Environ(), "KUBECONFIG="+kubeconfig),
		"kubectl-profile", "apply", "full", "--env", "sandbox", "--dir", filepath.Join(s.ProjectDir, "clusters"))
	if r.Code != 1 || !strings.Contains(r.Stderr, "Argo CD is not installed") || !strings.Contains(r.Stderr, "appprojects (argoproj.io/v1alpha1)") {
		t.Fatalf("want 'Argo CD is not installed': %s", r)
	}
}
