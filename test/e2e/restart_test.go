package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// Server mode survives what core mode survives: argocd profile wait, through
// Argo CD's API alone, rides out an argocd-server restart (its stream is
// listed and opened again) and ends when the apps are ready, not when the
// connection drops.
func TestServerModeWaitSurvivesAnArgoCDServerRestart(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	platform := []string{"--env", "sandbox", "--dir", clusters}
	if r := s.Plugin(t, time.Minute, "kubectl-profile", append([]string{"apply", "full"}, platform...)...); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := s.Plugin(t, 6*time.Minute, "kubectl-profile", append([]string{"wait", "full", "--timeout", "5m"}, platform...)...); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}
	token, err := s.ArgoCDToken()
	if err != nil {
		t.Fatal(err)
	}

	// With the application-controller stopped, an app marked OutOfSync stays so
	// until the controller is back: the wait must outlive the server's restart.
	if err := s.Component("stop", "argocd-application-controller"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Component("start", "argocd-application-controller") })
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	if _, err := apps.Patch(context.Background(), "group-demos", types.MergePatchType,
		[]byte(`{"status":{"sync":{"status":"OutOfSync"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	r := s.PluginWhen(t, 4*time.Minute, []string{"ARGOCD_AUTH_TOKEN=" + token, "ARGOCD_CONFIG_DIR=" + t.TempDir()},
		"group-demos  demos  demos  OutOfSync", // it has listed and is watching
		func() {
			if err := s.Component("restart", "argocd-server"); err != nil {
				t.Error(err)
			}
			if err := s.Component("start", "argocd-application-controller"); err != nil {
				t.Error(err)
			}
		}, "argocd-profile", append([]string{"wait", "full", "--timeout", "3m", "--server", s.Env["ARGOCD_SERVER"], "--plaintext"}, platform...)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "profile full: 43 apps Synced and Healthy") {
		t.Fatalf("server-mode wait across an argocd-server restart: %s", r)
	}
}
