package sandbox

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Running is a plugin that runs until stopped (kubectl costgate watch): its
// stderr lines arrive on Lines as it writes them.
type Running struct {
	Lines <-chan string
	cmd   *exec.Cmd
	done  chan struct{}
	mu    sync.Mutex
	out   bytes.Buffer
	err   bytes.Buffer
}

// StartPlugin starts a built plugin with env; it is stopped (SIGTERM) when the test ends.
func StartPlugin(t testing.TB, env []string, name string, args ...string) *Running {
	t.Helper()
	if pluginDir == "" {
		t.Fatal("plugins not built: call BuildPlugins in TestMain")
	}
	r := &Running{cmd: exec.Command(filepath.Join(pluginDir, name), args...), done: make(chan struct{})}
	r.cmd.Env = env
	r.cmd.Stdout = &lockedWriter{mu: &r.mu, w: &r.out}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	r.Lines = lines
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			r.mu.Lock()
			r.err.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			select {
			case lines <- sc.Text():
			default: // nobody reads: Stderr keeps them all
			}
		}
	}()
	go func() {
		_ = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() { r.Stop(t, time.Minute) })
	return r
}

// Stop sends SIGTERM and waits for the exit; the result holds all it printed.
func (r *Running) Stop(t testing.TB, timeout time.Duration) Result {
	t.Helper()
	select {
	case <-r.done:
	default:
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(timeout):
			_ = r.cmd.Process.Kill()
			<-r.done
			t.Errorf("%s did not stop within %s of SIGTERM", r.cmd.Path, timeout)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return Result{Stdout: r.out.String(), Stderr: r.err.String(), Code: r.cmd.ProcessState.ExitCode()}
}

// Env is the environment a plugin runs with to use kubeconfig alone.
func Env(kubeconfig string) []string {
	return append([]string{"KUBECONFIG=" + kubeconfig}, os.Environ()...)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
