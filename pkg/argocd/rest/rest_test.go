package rest_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

func noEnv(string) string { return "" }

// What the flags leave open comes from the argocd config's context, as the
// argocd CLI reads it; flags win.
func TestServerAndTokenFromTheArgoCDConfig(t *testing.T) {
	fake := resttest.New(t, resttest.App("raw-vllm", "Synced", "Healthy"))
	dir := t.TempDir()
	config := "contexts:\n- name: other\n  server: nowhere:1\n  user: other\n- name: sbx\n  server: " + fake.Host() + "\n  user: sbx\n" +
		"current-context: sbx\nservers:\n- server: " + fake.Host() + "\n  plain-text: true\nusers:\n- name: sbx\n  auth-token: " + resttest.Token + "\n- name: other\n  auth-token: x\n"
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := rest.New(rest.Options{ConfigPath: path}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Version(context.Background()); err != nil || v != "v3.6.1" {
		t.Fatalf("version %q %v", v, err)
	}
	if _, err := rest.New(rest.Options{ConfigPath: path, Context: "nope"}, noEnv); err == nil || !strings.Contains(err.Error(), `no context "nope"`) {
		t.Errorf("unknown context: %v", err)
	}
	if _, err := rest.New(rest.Options{}, func(k string) string { return map[string]string{"ARGOCD_CONFIG_DIR": dir + "/none"}[k] }); err == nil ||
		!strings.Contains(err.Error(), "no Argo CD server or token") {
		t.Errorf("nothing to go on: %v", err)
	}
}

// A refused token is said as such, and never printed.
func TestRefusedTokenIsNamedNotPrinted(t *testing.T) {
	fake := resttest.New(t)
	c, err := rest.New(rest.Options{Server: fake.Host(), PlainText: true, AuthToken: "not-the-" + resttest.Token}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Applications(context.Background(), "platform")
	if err == nil || !strings.Contains(err.Error(), "refused the token (401 Unauthenticated): invalid session") || strings.Contains(err.Error(), resttest.Token) {
		t.Errorf("got %v", err)
	}
}

// watchFake watches the fake's Applications of project platform.
func watchFake(t *testing.T, fake *resttest.Server) (*kube.Watcher, context.CancelFunc) {
	t.Helper()
	c, err := rest.New(rest.Options{Server: fake.Host(), PlainText: true, AuthToken: resttest.Token}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return c.Watch(ctx, "platform"), cancel
}

// Watch sends the list, then the set after each event; numbers read as int64.
func TestWatchSendsTheSetAfterEachEvent(t *testing.T) {
	fake := resttest.New(t, resttest.App("a", "Synced", "Healthy"), resttest.App("b", "OutOfSync", "Missing"))
	w, cancel := watchFake(t, fake)
	defer cancel()
	first := testwait.Recv(t, w.C, "the first set")
	if len(first) != 2 {
		t.Fatalf("first set: %v", first)
	}
	if g, _, _ := unstructuredInt(first["a"].Object); g != 3 {
		t.Errorf("generation read as %v", first["a"].Object["metadata"])
	}
	testwait.Recv(t, fake.Watching, "the watch's stream")
	fake.Send("MODIFIED", resttest.App("b", "Synced", "Healthy"))
	fake.Send("DELETED", resttest.App("a", "", ""))
	testwait.Until(t, w.C, "a set with b Synced and a deleted", func(set kube.Snapshot) bool {
		b := set["b"]
		_, there := set["a"]
		return !there && b != nil && strings.Contains(b.Object["status"].(map[string]any)["sync"].(map[string]any)["status"].(string), "Synced")
	})
	cancel()
	testwait.Closed(t, w.C, "the end of the cancelled watch")
	if err := w.Err(); err != nil {
		t.Errorf("a cancelled watch reports %v", err)
	}
}

func unstructuredInt(obj map[string]any) (int64, bool, error) {
	v, ok := obj["metadata"].(map[string]any)["generation"].(int64)
	return v, ok, nil
}

// A stream lost with its connection (the server restarting) is listed and
// opened again: the events after the loss still arrive, and the watch reports
// no error.
func TestWatchRidesOutALostConnection(t *testing.T) {
	fake := resttest.New(t, resttest.App("a", "OutOfSync", "Missing"))
	w, cancel := watchFake(t, fake)
	defer cancel()
	testwait.Recv(t, w.C, "the first set")
	testwait.Recv(t, fake.Watching, "the watch's stream")
	fake.CloseClientConnections() // the server restarts
	testwait.Recv(t, fake.Watching, "the stream opened again after the server restarted")
	fake.Send("MODIFIED", resttest.App("a", "Synced", "Healthy"))
	testwait.Until(t, w.C, "a set with a Synced, after the restart", func(set kube.Snapshot) bool {
		a := set["a"]
		return a != nil && a.Object["status"].(map[string]any)["sync"].(map[string]any)["status"] == "Synced"
	})
	cancel()
	testwait.Closed(t, w.C, "the end of the cancelled watch")
	if err := w.Err(); err != nil {
		t.Errorf("the watch ended with %v", err)
	}
}

// A server that takes the connection and never answers is given the request
// timeout, and the error names the server and what it did not answer.
func TestACallToAStuckServerEndsAtTheRequestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept, and say nothing
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c, err := rest.New(rest.Options{Server: ln.Addr().String(), PlainText: true, AuthToken: resttest.Token, RequestTimeout: 200 * time.Millisecond}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Version(context.Background())
	want := "Argo CD at " + ln.Addr().String() + " took the connection and did not answer /api/version in 200ms"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %s", err, want)
	}
}
