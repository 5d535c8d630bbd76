package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func cm(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
}

func summary(objs []render.Object, root string) string {
	var out []string
	for _, o := range objs {
		rel, _ := filepath.Rel(root, o.File)
		s := o.GetName() + "@" + filepath.ToSlash(rel)
		if o.GetNamespace() != "" {
			s += "/ns=" + o.GetNamespace()
		}
		if a := o.GetAnnotations(); a != nil {
			s += "/annotations"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// A kustomization is built, each object saying which file it came from (also
// through a base), without kustomize's origin annotation left on it.
func TestDirKustomizationSaysWhereEachObjectComesFrom(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"base/kustomization.yaml": "resources: [a.yaml]\n",
		"base/a.yaml":             cm("a"),
		"overlay/kustomization.yaml": "# ours\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
			"namespace: argocd\nresources: [../base, b.yaml]\n",
		"overlay/b.yaml": cm("b") + "  annotations: {keep: me}\n",
	})
	objs, err := render.Dir(filepath.Join(root, "overlay"))
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(objs, root); got != "a@base/a.yaml/ns=argocd b@overlay/b.yaml/ns=argocd/annotations" {
		t.Errorf("rendered: %s", got)
	}
	if a := objs[1].GetAnnotations(); len(a) != 1 || a["keep"] != "me" {
		t.Errorf("annotations of b: %v", a)
	}
	// Kustomize gives the same objects.
	plain, err := render.Kustomize(filepath.Join(root, "overlay"))
	if err != nil || len(plain) != 2 || plain[0].GetAnnotations() != nil {
		t.Errorf("Kustomize: %v %v", err, plain)
	}
	// A kustomization that asks for origin annotations keeps them.
	write(t, root, map[string]string{"overlay/kustomization.yaml": "resources: [../base]\nbuildMetadata: [originAnnotations]\n"})
	objs, err = render.Dir(filepath.Join(root, "overlay"))
	if err != nil || objs[0].GetAnnotations()["config.kubernetes.io/origin"] == "" || !strings.HasSuffix(objs[0].File, "base/a.yaml") {
		t.Errorf("asked-for origin: %v %v %q", err, objs[0].GetAnnotations(), objs[0].File)
	}
}

// A folder without a kustomization: every *.yaml and *.yml file, in name
// order, as written; sub-folders and other files are not read.
func TestDirPlainFolder(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"b.yaml":       cm("b1") + "---\n# nothing\n---\n" + cm("b2"),
		"a.yml":        cm("a"),
		"c.json":       `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`,
		"README.md":    "not yaml",
		"sub/d.yaml":   cm("d"),
		"0-empty.yaml": "# no objects\n",
		"z-other.yaml": cm("z") + "  namespace: elsewhere\n",
	})
	objs, err := render.Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(objs, root); got != "a@a.yml b1@b.yaml b2@b.yaml z@z-other.yaml/ns=elsewhere" {
		t.Errorf("rendered: %s", got)
	}
}

func TestDirErrors(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"empty/README.md": "nothing",
		"nokind/a.yaml":   "metadata: {name: x}\n",
		"bad/a.yaml":      "kind: [\n",
	})
	for dir, want := range map[string]string{
		"empty":   "holds no kustomization and no YAML manifests",
		"nokind":  "a.yaml: object 1 has no apiVersion or kind",
		"bad":     "a.yaml: document 1: yaml:",
		"missing": "no such file or directory",
	} {
		if _, err := render.Dir(filepath.Join(root, dir)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", dir, err, want)
		}
	}
}
