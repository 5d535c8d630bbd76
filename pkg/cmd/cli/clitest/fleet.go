package clitest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

// Fleet makes a clusters folder with one copy of the sandbox environment per
// name (the first keeps the name sandbox), each naming its own kubeconfig
// context (cluster: {context: NAME}), and a kubeconfig with those contexts
// (https://NAME.example.com), which the harness reads. It returns the folder.
func (h *Harness) Fleet(names ...string) string {
	t := h.T
	t.Helper()
	src := filepath.Join(Clusters(t), "sandbox")
	dir := filepath.Join(t.TempDir(), "clusters")
	for _, name := range names {
		copy := platformtest.CopyTree(t, src, map[string]platformtest.Edit{
			"platform.yaml": func(s string) string {
				return strings.Replace(s, "\nname: sandbox\n", "\nname: "+name+"\n", 1) + "cluster:\n  context: " + name + "\n"
			},
		})
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(copy, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	h.Kubeconfig = Kubeconfig(t, names...)
	return dir
}

// Kubeconfig writes a kubeconfig with one context per name (the first
// current), each the cluster https://NAME.example.com, and returns its path.
func Kubeconfig(t testing.TB, names ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\ncurrent-context: " + names[0] + "\nusers:\n- {name: u, user: {token: not-a-secret}}\nclusters:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "- {name: %s, cluster: {server: \"https://%[1]s.example.com\"}}\n", name)
	}
	b.WriteString("contexts:\n")
	for _, name := range names {
		fmt.Fprintf(&b, "- {name: %s, context: {cluster: %[1]s, user: u}}\n", name)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
