package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TmuxPane is a real terminal of a given size running one command, with all
// its scrollback kept.
type TmuxPane struct {
	t      testing.TB
	socket string
	// wrote receives (coalesced) each time the command wrote to the terminal:
	// tmux copies the pane's output to a pipe (pipe-pane), read into here.
	wrote chan struct{}
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
	p := &TmuxPane{t: t, socket: filepath.Join(dir, "tmux.sock"), wrote: make(chan struct{}, 1)}
	// The pane's output goes to a FIFO as well, so WaitFor looks again when
	// there is something new to see. Opened read-write: it never reads EOF
	// while tmux's writer comes and goes, and opening does not block.
	fifo := filepath.Join(dir, "output")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	go func() {
		buf := make([]byte, 32<<10)
		for {
			if _, err := out.Read(buf); err != nil {
				return // closed at cleanup
			}
			select {
			case p.wrote <- struct{}{}:
			default: // a look is already due
			}
		}
	}()
	script := strings.Join(env, " ") + " " + command + "; echo EXIT=$?; sleep 3600"
	p.Run("-f", conf, "new-session", "-d", "-s", "view", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "env", "TERM=xterm-256color", "sh", "-c", script)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", p.socket, "kill-server").Run() })
	// What the command wrote before this is on the screen already: WaitFor
	// looks at it first.
	p.Run("pipe-pane", "-t", "view", "cat > "+fifo)
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

// WaitFor waits until the pane has shown text: it looks at the pane, then
// again each time the command has written to it.
func (p *TmuxPane) WaitFor(text string, within time.Duration) []string {
	p.t.Helper()
	timeout := time.NewTimer(within)
	defer timeout.Stop()
	for {
		lines := p.History()
		if strings.Contains(strings.Join(lines, "\n"), text) {
			return lines
		}
		select {
		case <-p.wrote:
		case <-timeout.C:
			if lines = p.History(); !strings.Contains(strings.Join(lines, "\n"), text) {
				p.t.Fatalf("the pane did not show %q in %s:\n%s", text, within, strings.Join(lines, "\n"))
			}
			return lines
		}
	}
}
