package gates

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// Server mode survives what core mode survives: argocd costgate up, through
// Argo CD's API alone, has opened raw-vllm and waits for its pod when
// argocd-server restarts; it dials again, follows the resource tree again and
// ends when the pod is Ready, not 2 s after the connection dropped.
func TestServerModeUpSurvivesAnArgoCDServerRestart(t *testing.T) {
	s := sandbox.Need(t, sb)
	platform := withRawVLLMClosed(t, s)
	token, err := s.ArgoCDToken()
	if err != nil {
		t.Fatal(err)
	}
	// Without kwok no pod becomes Ready: up is still waiting when argocd-server goes.
	if err := s.Component("stop", "kwok"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Component("start", "kwok") })
	r := s.PluginWhen(t, 4*time.Minute, []string{"ARGOCD_AUTH_TOKEN=" + token, "ARGOCD_CONFIG_DIR=" + t.TempDir()}, "-> 1", func() {
		if err := s.Component("restart", "argocd-server"); err != nil {
			t.Error(err)
		}
		if err := s.Component("start", "kwok"); err != nil {
			t.Error(err)
		}
	}, "argocd-costgate", append([]string{"up", "raw-vllm", "--timeout", "3m", "--server", s.Env["ARGOCD_SERVER"], "--plaintext"}, platform...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "raw-vllm: Deployment/serving/raw-vllm 0 -> 1") || !strings.Contains(r.Stdout, "raw-vllm: up, costs $") {
		t.Fatalf("server-mode up across an argocd-server restart: %s", r)
	}
}

// costgate up's progress, as a person sees it in an 80×24 terminal: every
// line fits (a pod's long Pending reason is cut, not wrapped), and the last
// says the gate is up.
func TestUpProgressFitsTheTerminal(t *testing.T) {
	s := sandbox.Need(t, sb)
	platform := withRawVLLMClosed(t, s)
	pane := sandbox.NewTmuxPane(t, 80, 24, []string{"KUBECONFIG=" + s.Kubeconfig},
		filepath.Join(sandbox.PluginDir(), "kubectl-costgate")+" up raw-vllm --timeout 4m "+strings.Join(platform, " "))
	lines := pane.WaitFor("EXIT=", 5*time.Minute)
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "raw-vllm: up, costs $") || !strings.Contains(all, "EXIT=0") {
		t.Fatalf("up did not end up:\n%s", all)
	}
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line %d is %d columns wide in an 80-column terminal: %q", i, n, l)
		}
	}
}

// withRawVLLMClosed brings profile full up and raw-vllm closed (or never
// synced: up then syncs first, and reads the Deployment once Argo CD's tree
// holds it), closes it again after the test, and returns the --env/--dir flags.
func withRawVLLMClosed(t *testing.T, s *sandbox.Sandbox) []string {
	t.Helper()
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	platform := []string{"--env", "sandbox", "--dir", filepath.Join(s.RepoDir, "clusters")}
	if r := s.Plugin(t, 5*time.Minute, "kubectl-profile", append([]string{"apply", "full"}, platform...)...); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := s.Plugin(t, 5*time.Minute, "kubectl-profile", append([]string{"wait", "full"}, platform...)...); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}
	if r := s.Plugin(t, 5*time.Minute, "kubectl-costgate", append([]string{"down", "raw-vllm"}, platform...)...); r.Code != 0 && !strings.Contains(r.Stderr, "does not exist") {
		t.Fatalf("down raw-vllm first: %s", r)
	}
	t.Cleanup(func() {
		s.Plugin(t, 3*time.Minute, "kubectl-costgate", append([]string{"down", "raw-vllm"}, platform...)...)
	})
	return platform
}
