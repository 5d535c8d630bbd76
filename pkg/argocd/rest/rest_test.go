package rest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
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

// Watch sends the list, then the set after each event; numbers read as int64.
func TestWatchSendsTheSetAfterEachEvent(t *testing.T) {
	fake := resttest.New(t, resttest.App("a", "Synced", "Healthy"), resttest.App("b", "OutOfSync", "Missing"))
	c, err := rest.New(rest.Options{Server: fake.Host(), PlainText: true, AuthToken: resttest.Token}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := c.Watch(ctx, "platform")
	first := <-w.C
	if len(first) != 2 {
		t.Fatalf("first set: %v", first)
	}
	if g, _, _ := unstructuredInt(first["a"].Object); g != 3 {
		t.Errorf("generation read as %v", first["a"].Object["metadata"])
	}
	<-fake.Watching
	fake.Send("MODIFIED", resttest.App("b", "Synced", "Healthy"))
	fake.Send("DELETED", resttest.App("a", "", ""))
	for set := range w.C {
		b := set["b"]
		if _, gone := set["a"]; !gone && b != nil && strings.Contains(b.Object["status"].(map[string]any)["sync"].(map[string]any)["status"].(string), "Synced") {
			cancel()
		}
	}
	if err := w.Err(); err != nil {
		t.Errorf("a cancelled watch reports %v", err)
	}
}

func unstructuredInt(obj map[string]any) (int64, bool, error) {
	v, ok := obj["metadata"].(map[string]any)["generation"].(int64)
	return v, ok, nil
}
