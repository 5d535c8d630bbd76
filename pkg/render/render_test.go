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

// An Application's kustomize options change what its folder renders, as Argo
// CD's `kustomize edit` calls do; a folder without a kustomization ignores them.
func TestDirAsSourceAddsTheApplicationsKustomizeOptions(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"app/kustomization.yaml": "resources: [store.yaml, deploy.yaml]\ncommonLabels: {team: a}\n",
		"app/store.yaml":         "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata:\n  name: secret-store\nspec:\n  provider:\n    gcpsm: {}\n",
		"app/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n" +
			"      - {name: a, image: 'ghcr.io/x/web:1.0'}\n      - {name: b, image: 'docker.io/y/side:2'}\n",
		"plain/cm.yaml": cm("plain"),
	})
	options := map[string]any{
		"patches": []any{map[string]any{
			"target": map[string]any{"group": "external-secrets.io", "kind": "ClusterSecretStore", "name": "secret-store"},
			"patch":  "- op: add\n  path: /spec/provider/gcpsm/projectID\n  value: my-project\n",
		}},
		"images":       []any{"ghcr.io/x/web:1.1@sha256:" + strings.Repeat("a", 64), "docker.io/y/side=mirror.local/side:3"},
		"namePrefix":   "dev-",
		"commonLabels": map[string]any{"env": "dev"},
	}
	objs, err := render.DirAsSource(filepath.Join(dir, "app"), options)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]render.Object{}
	for _, o := range objs {
		byKind[o.GetKind()] = o
	}
	store, deploy := byKind["ClusterSecretStore"], byKind["Deployment"]
	if got := store.Object["spec"].(map[string]any)["provider"].(map[string]any)["gcpsm"].(map[string]any)["projectID"]; got != "my-project" {
		t.Errorf("projectID = %v, want the patch's my-project", got)
	}
	if store.GetName() != "dev-secret-store" || store.GetLabels()["env"] != "dev" || store.GetLabels()["team"] != "a" {
		t.Errorf("store name %q labels %v: want the prefix and both labels", store.GetName(), store.GetLabels())
	}
	if filepath.Base(store.File) != "store.yaml" {
		t.Errorf("store file %q: the origins are kept", store.File)
	}
	containers := deploy.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	want := []string{"ghcr.io/x/web:1.1@sha256:" + strings.Repeat("a", 64), "mirror.local/side:3"}
	for i, c := range containers {
		if got := c.(map[string]any)["image"]; got != want[i] {
			t.Errorf("container %d image = %v, want %s", i, got, want[i])
		}
	}
	plain, err := render.DirAsSource(filepath.Join(dir, "plain"), options)
	if err != nil || len(plain) != 1 || plain[0].GetName() != "plain" {
		t.Errorf("plain folder: %v %v, want its one object as written", plain, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "app", "kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "app", "kustomization.yaml")); strings.Contains(string(data), "dev-") {
		t.Error("the folder's kustomization was written to")
	}
}
