package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// krewEnv is a krew installation in a temporary KREW_ROOT, with krew itself on
// PATH as the kubectl plugin `kubectl krew`, and the real /usr/bin/kubectl.
type krewEnv struct {
	t       *testing.T
	root    string
	env     []string
	project string
}

func newKrew(t *testing.T) *krewEnv {
	t.Helper()
	dist, tools := os.Getenv("KP_DIST"), os.Getenv("KP_KREW_BIN")
	if dist == "" || tools == "" {
		t.Fatal("KP_DIST and KP_KREW_BIN are unset: run through make test (it builds the archives and krew)")
	}
	project, err := sandbox.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	shim := filepath.Join(root, "shim")
	if err := os.MkdirAll(shim, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tools, "krew"), filepath.Join(shim, "kubectl-krew")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "krew", "bin") + ":" + shim + ":" + tools + ":/usr/bin:" + os.Getenv("PATH")
	return &krewEnv{t: t, root: filepath.Join(root, "krew"), project: project,
		env: append(os.Environ(), "KREW_ROOT="+filepath.Join(root, "krew"), "PATH="+path, "HOME="+root)}
}

func (k *krewEnv) run(dir string, name string, args ...string) string {
	k.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Dir = k.env, dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		k.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// manifests writes krew manifests for the built archives with krew-manifests/krew.sh.
func (k *krewEnv) manifests(releaseURL string) string {
	out := k.t.TempDir()
	cmd := exec.Command("bash", filepath.Join(k.project, "krew-manifests", "krew.sh"))
	cmd.Env = append(k.env, "DIST="+os.Getenv("KP_DIST"), "OUT="+out, "RELEASE_URL="+releaseURL)
	if b, err := cmd.CombinedOutput(); err != nil {
		k.t.Fatalf("krew.sh: %v\n%s", err, b)
	}
	return out
}

type manifest struct {
	Spec struct {
		Version   string
		Platforms []struct {
			Selector struct{ MatchLabels map[string]string }
			URI      string
			Sha256   string
		}
	}
}

func TestKrewInstallsEachPluginFromTheBuiltArchives(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the release archives and krew (make test builds them)")
	}
	k := newKrew(t)
	dist := os.Getenv("KP_DIST")
	dir := k.manifests("https://github.com/aidev-platform/kubectl-plugins/releases/download/v0.1.0")
	for _, plugin := range []string{"profile", "costgate", "smoke"} {
		path := filepath.Join(dir, plugin+".yaml")
		// krew's own validation (structure, selectors, name = file name).
		k.run("", filepath.Join(os.Getenv("KP_KREW_BIN"), "validate-krew-manifest"), "-skip-install", "-manifest", path)
		var m manifest
		data, _ := os.ReadFile(path)
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		archive := ""
		for _, p := range m.Spec.Platforms {
			if p.Selector.MatchLabels["os"] == "linux" && p.Selector.MatchLabels["arch"] == "amd64" {
				archive = filepath.Join(dist, filepath.Base(p.URI))
				b, err := os.ReadFile(archive)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				if hex.EncodeToString(sum[:]) != p.Sha256 {
					t.Errorf("%s: sha256 %s does not match %s", plugin, p.Sha256, archive)
				}
			}
		}
		if archive == "" {
			t.Fatalf("%s: no linux/amd64 platform", plugin)
		}
		k.run("", "kubectl", "krew", "install", "--manifest="+path, "--archive="+archive)
	}
	// Through the real kubectl on PATH, as a user runs them.
	if out := k.run("", "/usr/bin/kubectl", "profile", "--help"); !strings.Contains(out, "kubectl profile [command]") {
		t.Errorf("kubectl profile --help:\n%s", out)
	}
	if out := k.run("", "/usr/bin/kubectl", "costgate", "version"); !strings.HasPrefix(out, "kubectl-costgate v") {
		t.Errorf("kubectl costgate version: %q", out)
	}
	if out := k.run("", "/usr/bin/kubectl", "smoke", "--help"); !strings.Contains(out, "kubectl smoke [command]") {
		t.Errorf("kubectl smoke --help:\n%s", out)
	}
	// Completion: kubectl runs kubectl_complete-costgate; from the repo it knows the gated apps.
	complete := filepath.Join(k.root, "store", "costgate", "v0.1.0", "kubectl_complete-costgate")
	out := k.run(k.project, complete, "up", "")
	// Every gate, sync gates too (up syncs them); no app that is not a gate.
	for _, app := range []string{"raw-vllm", "coder-chat", "kserve-demo", "inference-demo", "vector-store"} {
		if !strings.Contains(out, app+"\n") {
			t.Errorf("kubectl_complete-costgate up '' lacks %s:\n%s", app, out)
		}
	}
	if strings.Contains(out, "litellm") {
		t.Errorf("up completes an app that is not a gate:\n%s", out)
	}
}

// Our own index: a git repository with plugins/*.yaml, added with `krew index add`.
func TestKrewInstallsFromOurOwnIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the release archives and krew (make test builds them)")
	}
	k := newKrew(t)
	// The release's download URL, served on loopback from the built archives.
	srv := httptest.NewServer(http.FileServer(http.Dir(os.Getenv("KP_DIST"))))
	defer srv.Close()
	dir := k.manifests(srv.URL)
	index := t.TempDir()
	if err := os.MkdirAll(filepath.Join(index, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, plugin := range []string{"profile", "smoke"} {
		b, _ := os.ReadFile(filepath.Join(dir, plugin+".yaml"))
		if err := os.WriteFile(filepath.Join(index, "plugins", plugin+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k.run(index, "git", "init", "-q", "-b", "main")
	k.run(index, "git", "add", "-A")
	k.run(index, "git", "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "commit", "-qm", "index")
	k.run("", "kubectl", "krew", "index", "add", "aidev", "file://"+index)
	k.run("", "kubectl", "krew", "install", "aidev/smoke")
	if out := k.run("", "/usr/bin/kubectl", "smoke", "version"); !strings.HasPrefix(out, "kubectl-smoke v") {
		t.Errorf("kubectl smoke version after installing from the index: %q", out)
	}
	if out := k.run("", "kubectl", "krew", "list"); !strings.Contains(out, "aidev/smoke") {
		t.Errorf("krew list does not show aidev/smoke:\n%s", out)
	}
}
