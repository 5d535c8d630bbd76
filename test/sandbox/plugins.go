package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pluginDir holds the plugins built once for this test binary (BuildPlugins).
var pluginDir string

// BuildPlugins builds the three plugins from this checkout into a temporary folder,
// so e2e tests run the real binaries, as a user would.
func BuildPlugins(root string) (string, error) {
	dir, err := os.MkdirTemp("", "kp-plugins-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"./plugins/kubectl-profile", "./plugins/kubectl-costgate", "./plugins/kubectl-smoke")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the plugins: %w\n%s", err, out)
	}
	// The argocd CLI runs argocd-<name>: the same binaries, as make build links them.
	for _, name := range []string{"profile", "costgate", "smoke"} {
		if err := os.Symlink("kubectl-"+name, filepath.Join(dir, "argocd-"+name)); err != nil {
			return "", err
		}
	}
	pluginDir = dir
	return dir, nil
}

// Result is what a plugin run printed and how it exited.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// Plugin runs one of the built plugins (kubectl-profile, ...) against the sandbox,
// with its kubeconfig, and returns what it printed. It fails the test only if the
// binary could not run at all.
func (s *Sandbox) Plugin(t testing.TB, timeout time.Duration, name string, args ...string) Result {
	t.Helper()
	return RunPlugin(t, timeout, append([]string{"KUBECONFIG=" + s.Kubeconfig}, os.Environ()...), name, args...)
}

// RunPlugin runs a built plugin with a given environment (no sandbox needed).
func RunPlugin(t testing.TB, timeout time.Duration, env []string, name string, args ...string) Result {
	t.Helper()
	if pluginDir == "" {
		t.Fatal("plugins not built: call BuildPlugins in TestMain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(pluginDir, name), args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return finished(t, ctx, timeout, Result{Stdout: out.String(), Stderr: errOut.String()}, err, name, args)
}

// finished fills in a plugin run's exit code, and fails the test when the
// plugin could not run at all or ran past its timeout.
func finished(t testing.TB, ctx context.Context, timeout time.Duration, r Result, err error, name string, args []string) Result {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	default:
		t.Fatalf("running %s %s: %v", name, strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish within %s:\n%s", name, strings.Join(args, " "), timeout, r)
	}
	return r
}

// Component stops, starts or restarts (action) one sandbox component, with the
// flags it was first started with.
func (s *Sandbox) Component(action, component string) error {
	cmd := exec.Command("bash", script(s.ProjectDir, "restart.sh"), component, action)
	cmd.Env = append(os.Environ(), "KP_SANDBOX_DIR="+s.Dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", action, component, err, out)
	}
	return nil
}

// PluginDir is where BuildPlugins put the binaries.
func PluginDir() string { return pluginDir }

// PluginInterrupted runs a plugin against the sandbox and sends it SIGINT (what
// Ctrl-C sends) as soon as its stdout or stderr contains after. interrupted says
// whether the signal was sent before the plugin ended by itself.
func (s *Sandbox) PluginInterrupted(t testing.TB, timeout time.Duration, after, name string, args ...string) (r Result, interrupted bool) {
	t.Helper()
	r = s.runUntil(t, timeout, nil, after, func(p *os.Process) { interrupted = p.Signal(os.Interrupt) == nil }, name, args...)
	return r, interrupted
}

// PluginWhen runs a plugin (with env added to the sandbox's) and calls do, once,
// as soon as its stdout or stderr contains after, while it goes on.
func (s *Sandbox) PluginWhen(t testing.TB, timeout time.Duration, env []string, after string, do func(), name string, args ...string) Result {
	t.Helper()
	return s.runUntil(t, timeout, env, after, func(*os.Process) { do() }, name, args...)
}

// runUntil runs a plugin against the sandbox and calls do with its process
// once its output contains after.
func (s *Sandbox) runUntil(t testing.TB, timeout time.Duration, env []string, after string, do func(*os.Process), name string, args ...string) Result {
	t.Helper()
	if pluginDir == "" {
		t.Fatal("plugins not built: call BuildPlugins in TestMain")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(pluginDir, name), args...)
	cmd.Env = append(append([]string{"KUBECONFIG=" + s.Kubeconfig}, os.Environ()...), env...)
	w := &signalOnText{after: after, seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.writer(&w.out), w.writer(&w.errOut)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case <-w.seen:
		do(cmd.Process)
		err = <-done
	case err = <-done:
	}
	w.mu.Lock()
	r := Result{Stdout: w.out.String(), Stderr: w.errOut.String()}
	w.mu.Unlock()
	return finished(t, ctx, timeout, r, err, name, args)
}

// signalOnText collects a process's output and closes seen once either stream
// has shown the text.
type signalOnText struct {
	mu          sync.Mutex
	out, errOut bytes.Buffer
	after       string
	seen        chan struct{}
	once        sync.Once
}

func (w *signalOnText) writer(buf *bytes.Buffer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		w.mu.Lock()
		buf.Write(p)
		hit := strings.Contains(w.out.String(), w.after) || strings.Contains(w.errOut.String(), w.after)
		w.mu.Unlock()
		if hit {
			w.once.Do(func() { close(w.seen) })
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
