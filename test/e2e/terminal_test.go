package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// profile wait's live view, in real terminals of 80×24, 120×24 and 200×50
// (and one resized from 120 to 90 columns during the wait): the apps of
// profile full converge one by one through Argo CD's API (a fake Argo CD on
// loopback), and when the wait is done the whole scrollback holds one table,
// no frame of the live view, and no line wider than the terminal.
func TestTheLiveViewFitsTheTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: runs the built plugins in tmux")
	}
	root, err := sandbox.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(root, "clusters")
	env, err := platform.Load(clusters, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Profile("full")
	if err != nil {
		t.Fatal(err)
	}
	expected, err := env.ExpectedApps(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []struct{ width, height, resizeTo int }{{80, 24, 0}, {120, 24, 0}, {200, 50, 0}, {120, 24, 90}} {
		name := fmt.Sprintf("%dx%d", size.width, size.height)
		if size.resizeTo > 0 {
			name += fmt.Sprintf(" resized to %d", size.resizeTo)
		}
		t.Run(name, func(t *testing.T) {
			fake := resttest.New(t)
			var pending []string
			for _, a := range expected {
				if a.Gated {
					fake.Send("ADDED", resttest.App(a.Name, "OutOfSync", "Missing"))
					continue
				}
				// A long message, as a Degraded chart's are: the view cuts it.
				app := resttest.App(a.Name, "OutOfSync", "Progressing")
				app.Object["status"].(map[string]any)["health"].(map[string]any)["message"] = strings.Repeat("waiting for the rollout of a Deployment to finish ", 4)
				fake.Send("ADDED", app)
				pending = append(pending, a.Name)
			}
			pane := sandbox.NewTmuxPane(t, size.width, size.height,
				[]string{"ARGOCD_AUTH_TOKEN=" + resttest.Token, "ARGOCD_CONFIG_DIR=" + t.TempDir()},
				fmt.Sprintf("%s wait full --env sandbox --dir %s --server %s --plaintext --timeout 2m",
					filepath.Join(sandbox.PluginDir(), "argocd-profile"), clusters, fake.Host()))
			select {
			case <-fake.Watching:
			case <-time.After(time.Minute):
				t.Fatalf("the wait never watched:\n%s", strings.Join(pane.History(), "\n"))
			}
			width := size.width
			for i, name := range pending {
				if size.resizeTo > 0 && i == len(pending)/2 {
					pane.Run("resize-window", "-t", "view", "-x", fmt.Sprint(size.resizeTo))
					width = size.resizeTo
				}
				fake.Send("MODIFIED", resttest.App(name, "Synced", "Healthy"))
				// One change at a time, as a person sees them: the view
				// redraws with it before the next.
				pane.WaitFor(fmt.Sprintf("%d/%d ready", i+1, len(pending)), time.Minute)
			}
			lines := pane.WaitFor("EXIT=", time.Minute)
			all := strings.Join(lines, "\n")
			if !strings.Contains(all, "EXIT=0") || strings.Count(all, "profile full: ") != 1 {
				t.Fatalf("the wait did not end once with success:\n%s", all)
			}
			headers := 0
			for i, l := range lines {
				if strings.HasPrefix(l, "APP ") {
					headers++
				}
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("line %d is %d columns wide in a %d-column terminal: %q", i, n, width, l)
				}
			}
			if headers != 1 {
				t.Errorf("the scrollback holds %d tables, want the final one only:\n%s", headers, all)
			}
		})
	}
}

// profile secrets as a person reads it: at 120 columns the table and its notes
// fit; at 80 the rows wrap, and every remote key still starts a line.
func TestTheSecretsTableInATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: runs the built plugins in tmux")
	}
	root, err := sandbox.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(root, "clusters")
	env, err := platform.Load(clusters, "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	contract := env.SecretContract(nil, false)
	for _, width := range []int{80, 120} {
		t.Run(fmt.Sprintf("%dx24", width), func(t *testing.T) {
			pane := sandbox.NewTmuxPane(t, width, 24, nil,
				fmt.Sprintf("%s secrets --env ai-dev --dir %s", filepath.Join(sandbox.PluginDir(), "kubectl-profile"), clusters))
			lines := pane.WaitFor("EXIT=", time.Minute)
			all := strings.Join(lines, "\n")
			if !strings.Contains(all, "EXIT=0") || !strings.Contains(all, "store ClusterSecretStore/secret-store: gcpsm, project aidev-platform") {
				t.Fatalf("secrets did not end with its table and its store:\n%s", all)
			}
			for _, rs := range contract.Remote {
				found := false
				for _, l := range lines {
					found = found || strings.HasPrefix(l, rs.Key+" ")
				}
				if !found {
					t.Errorf("no line starts with %s:\n%s", rs.Key, all)
				}
			}
			if width < 120 {
				return
			}
			for i, l := range lines {
				if n := utf8.RuneCountInString(l); n > width {
					t.Errorf("line %d is %d columns wide in a %d-column terminal: %q", i, n, width, l)
				}
			}
		})
	}
}
