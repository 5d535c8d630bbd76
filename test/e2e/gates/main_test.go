// Package gates holds the end-to-end tests of the cost gates, the smoke gate,
// the personas' RBAC and interrupted commands. They run against a sandbox of
// their own, beside test/e2e's: go test runs the two packages at once, and
// most of their time is spent waiting on Argo CD, not on the CPU.
package gates

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { os.Exit(sandbox.RunTests(m, &sb)) }

// fullPlatform syncs the sandbox's repository and brings profile full up,
// waiting until it converges; it returns the repository's clusters folder.
func fullPlatform(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	if r := s.Plugin(t, time.Minute, "kubectl-profile", "apply", "full", "--env", "sandbox", "--dir", clusters); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := s.Plugin(t, 6*time.Minute, "kubectl-profile", "wait", "full", "--timeout", "5m", "--env", "sandbox", "--dir", clusters); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}
	return clusters
}
