package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// tmuxPane is a real terminal of a given size running one command, with all
// its scrollback kept.
type tmuxPane struct {
	t      *testing.T
	socket string
}

func newTmuxPane(t *testing.T, width, height int, env []string, command string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: make test-deps installs it")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g history-limit 100000\nset -g status off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &tmuxPane{t: t, socket: filepath.Join(dir, "tmux.sock")}
	script := strings.Join(env, " ") + " " + command + "; echo EXIT=$?; sleep 3600"
	p.run("-f", conf, "new-session", "-d", "-s", "view", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "env", "TERM=xterm-256color", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", p.socket, "kill-server").Run() })
	return p
}

func (p *tmuxPane) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// history is everything the pane shows and scrolled away, one string a line.
func (p *tmuxPane) history() []string {
	return strings.Split(strings.TrimRight(p.run("capture-pane", "-p", "-t", "view", "-S", "-", "-E", "-"), "\n"), "\n")
}

// waitFor waits until the pane has shown text.
func (p *tmuxPane) waitFor(text string, within time.Duration) []string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		lines := p.history()
		if strings.Contains(strings.Join(lines, "\n"), text) {
			return lines
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the pane did not show %q in %s:\n%s", text, within, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond) // polling a terminal's screen: there is no event to wait on
	}
}

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
			pane := newTmuxPane(t, size.width, size.height,
				[]string{"ARGOCD_AUTH_TOKEN=" + resttest.Token, "ARGOCD_CONFIG_DIR=" + t.TempDir()},
				fmt.Sprintf("%s wait full --env sandbox --dir %s --server %s --plaintext --timeout 2m",
					filepath.Join(sandbox.PluginDir(), "argocd-profile"), clusters, fake.Host()))
			select {
			case <-fake.Watching:
			case <-time.After(time.Minute):
				t.Fatalf("the wait never watched:\n%s", strings.Join(pane.history(), "\n"))
			}
			width := size.width
			for i, name := range pending {
				if size.resizeTo > 0 && i == len(pending)/2 {
					pane.run("resize-window", "-t", "view", "-x", fmt.Sprint(size.resizeTo))
					width = size.resizeTo
				}
				fake.Send("MODIFIED", resttest.App(name, "Synced", "Healthy"))
				time.Sleep(50 * time.Millisecond) // a pace a person sees: several redraws between changes
			}
			lines := pane.waitFor("EXIT=", time.Minute)
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
