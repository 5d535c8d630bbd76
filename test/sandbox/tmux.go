package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TmuxPane is a real terminal of a given size running one command, with all
// its scrollback kept.
type TmuxPane struct {
	t      testing.TB
	socket string
}

func NewTmuxPane(t testing.TB, width, height int, env []string, command string) *TmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: make test-deps installs it")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g history-limit 100000\nset -g status off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &TmuxPane{t: t, socket: filepath.Join(dir, "tmux.sock")}
	script := strings.Join(env, " ") + " " + command + "; echo EXIT=$?; sleep 3600"
	p.Run("-f", conf, "new-session", "-d", "-s", "view", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "env", "TERM=xterm-256color", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", p.socket, "kill-server").Run() })
	return p
}

func (p *TmuxPane) Run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// History is everything the pane shows and scrolled away, one string a line.
func (p *TmuxPane) History() []string {
	return strings.Split(strings.TrimRight(p.Run("capture-pane", "-p", "-t", "view", "-S", "-", "-E", "-"), "\n"), "\n")
}

// WaitFor waits until the pane has shown text.
func (p *TmuxPane) WaitFor(text string, within time.Duration) []string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		lines := p.History()
		if strings.Contains(strings.Join(lines, "\n"), text) {
			return lines
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the pane did not show %q in %s:\n%s", text, within, strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond) // polling a terminal's screen: there is no event to wait on
	}
}
