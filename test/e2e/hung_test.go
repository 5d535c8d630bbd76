package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// blackhole accepts connections and never answers: a stuck server, or a
// half-open load balancer. It stops with the test.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}

// Against a server that takes the connection and never answers (as the
// Kubernetes API for core mode, as Argo CD for server mode), every verb of
// the three plugins that talks to a server, under both names, ends at the
// first SIGTERM: exit 130 within 2 s, saying it was interrupted.
func TestAHungServerNeverHangsAVerb(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: runs the built plugins")
	}
	root, err := sandbox.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	addr := blackhole(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: hung, cluster: {server: "https://%s", insecure-skip-tls-verify: true}}]
users: [{name: hung, user: {token: not-a-secret}}]
contexts: [{name: hung, context: {cluster: hung, user: hung}}]
current-context: hung
`, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	platform := []string{"--env", "sandbox", "--dir", filepath.Join(root, "clusters")}
	prom := "http://" + addr
	verbs := map[string][][]string{
		"profile":  {{"apply", "full"}, {"diff", "full"}, {"wait", "full"}, {"status"}},
		"costgate": {{"list"}, {"sync", "n8n"}, {"up", "raw-vllm"}, {"down", "raw-vllm"}, {"pause", "kserve-demo"}, {"resume", "kserve-demo"}, {"idle", "--prometheus-url", prom}},
		"smoke":    {{"doctor", "--profile", "serving"}, {"chat", "raw-vllm"}, {"run", "--profile", "serving"}},
	}
	// Which verbs work through Argo CD's API (the others are refused at once
	// in server mode, before any request, so they are run with --core there).
	server := map[string]bool{"profile wait": true, "profile status": true, "smoke doctor": true}
	argo := []string{"--auth-token", "not-a-secret"}
	type run struct {
		name, binary string
		args         []string
	}
	var runs []run
	for plugin, list := range verbs {
		for _, v := range list {
			key := plugin + " " + v[0]
			args := append(append([]string{}, v...), platform...)
			runs = append(runs, run{"kubectl " + strings.Join(v, " "), "kubectl-" + plugin, args})
			if plugin == "costgate" {
				runs = append(runs, run{"kubectl " + key + " --argocd-server", "kubectl-" + plugin, append(append(args, "--argocd-server", addr, "--plaintext"), argo...)})
			}
			if plugin == "costgate" || server[key] {
				for _, tls := range [][]string{nil, {"--plaintext"}} {
					runs = append(runs, run{fmt.Sprintf("argocd %s %v", key, tls), "argocd-" + plugin, append(append(append(args, "--server", addr), tls...), argo...)})
				}
			}
			runs = append(runs, run{"argocd " + key + " --core", "argocd-" + plugin, append(args, "--core")})
		}
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(filepath.Join(sandbox.PluginDir(), r.binary), r.args...)
			cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "ARGOCD_CONFIG_DIR="+t.TempDir())
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				t.Fatalf("ended by itself before the signal (%v): a stuck server must be waited on or bounded, not refused at once:\n%s", err, out.String())
			case <-time.After(2 * time.Second):
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-done:
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 130 {
					t.Errorf("exit %v after SIGTERM, want 130:\n%s", err, out.String())
				}
				if !strings.Contains(out.String(), "interrupted") {
					t.Errorf("does not say it was interrupted:\n%s", out.String())
				}
			case <-time.After(2 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("still running 2 s after SIGTERM:\n%s", out.String())
			}
		})
	}
}
