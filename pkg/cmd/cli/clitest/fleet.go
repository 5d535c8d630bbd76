package clitest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	var kubeconfig strings.Builder
	kubeconfig.WriteString("apiVersion: v1\nkind: Config\ncurrent-context: " + names[0] + "\nusers:\n- {name: u, user: {token: not-a-secret}}\nclusters:\n")
	for _, name := range names {
		fmt.Fprintf(&kubeconfig, "- {name: %s, cluster: {server: \"https://%[1]s.example.com\"}}\n", name)
	}
	kubeconfig.WriteString("contexts:\n")
	for _, name := range names {
		fmt.Fprintf(&kubeconfig, "- {name: %s, context: {cluster: %[1]s, user: u}}\n", name)
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
	h.Kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(h.Kubeconfig, []byte(kubeconfig.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
