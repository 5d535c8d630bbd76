package profile_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// The team's tree without its platform.yaml, as it is before init.
func teamTree(t *testing.T) string {
	t.Helper()
	root := platformtest.CopyTree(t, adoptRoot(t), nil)
	removeFile(t, filepath.Join(root, "clusters", "team", "platform.yaml"))
	return root
}

// init on the team's tree writes platform.yaml and nothing else (every other
// file, the config outside clusters/ included, is byte-identical), says what
// it read, inferred and could not, and the environment then lists, resolves
// (--check: the team's groups file means what resolve writes) and renders as
// with the fixture's own descriptor.
func TestInitAdoptedTree(t *testing.T) {
	root := teamTree(t)
	before := platformtest.Checksums(t, root)
	h := clitest.New(t, "kubectl-profile")
	clitest.Golden(t, "init-adopt", runTeam(t, h, root, "init", "--config", filepath.Join(root, "config", "platform-config.yaml")))
	after := platformtest.Checksums(t, root)
	if after["clusters/team/platform.yaml"] == "" {
		t.Fatal("no platform.yaml")
	}
	delete(after, "clusters/team/platform.yaml")
	if !reflect.DeepEqual(after, before) {
		t.Errorf("init changed more than platform.yaml:\nbefore %v\nafter  %v", before, after)
	}
	written, _ := os.ReadFile(filepath.Join(root, "clusters", "team", "platform.yaml"))
	clitest.Golden(t, "init-adopt-platform.yaml", string(written))

	clitest.Golden(t, "init-adopt-list", runTeam(t, h, root, "list", "-o", "wide"))
	clitest.Golden(t, "init-adopt-resolve-check", runTeam(t, h, root, "resolve", "--check"))
	render := runTeam(t, h, root, "render", "gateway")
	clitest.Golden(t, "init-adopt-render-gateway", render)
	if want := runTeam(t, h, adoptRoot(t), "render", "gateway"); render != want {
		t.Errorf("the inferred descriptor renders otherwise than the fixture's:\n%s", render)
	}
	if got := platformtest.Checksums(t, root); got["clusters/team/platform.yaml"] != sha(written) || len(got) != len(before)+1 {
		t.Error("list, resolve --check or render wrote a file")
	} else if delete(got, "clusters/team/platform.yaml"); !reflect.DeepEqual(got, before) {
		t.Error("list, resolve --check or render wrote a file")
	}

	// Again: refused without --force, nothing changed (not one mtime).
	snap := platformtest.Snapshot(t, root)
	clitest.Golden(t, "init-adopt-again", runTeam(t, h, root, "init", "--config", filepath.Join(root, "config", "platform-config.yaml")))
	platformtest.Unchanged(t, root, snap)

	// With --force: rewritten, the same content; nothing else written.
	r := runTeam(t, h, root, "init", "--force", "--config", filepath.Join(root, "config", "platform-config.yaml"))
	if !strings.HasPrefix(r, "exit 0") || !strings.Contains(r, "wrote $ROOT/clusters/team/platform.yaml") {
		t.Errorf("init --force:\n%s", r)
	}
	desc := filepath.Join(root, "clusters", "team", "platform.yaml")
	if fi, err := os.Stat(desc); err != nil || fi.ModTime().Equal(snap[desc].ModTime) {
		t.Errorf("init --force did not rewrite platform.yaml: %v", err)
	}
	if again, _ := os.ReadFile(desc); string(again) != string(written) {
		t.Errorf("init --force wrote otherwise:\n%s", again)
	}
	for path, s := range snap {
		if path == desc {
			continue
		}
		if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(s.ModTime) {
			t.Errorf("init --force wrote %s", path)
		}
	}
}

// clusters/sandbox copied without its platform.yaml: init infers it again
// (see pkg/platform's TestInferSandboxAgreesWithItsDescriptor for how it
// compares with the committed one), and the environment renders and lists.
func TestInitSandbox(t *testing.T) {
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", nil)
	removeFile(t, filepath.Join(dir, "sandbox", "platform.yaml"))
	h := clitest.New(t, "kubectl-profile")
	r := h.Run(profile.NewCmd, "init", "--env", "sandbox", "--dir", dir)
	clitest.Golden(t, "init-sandbox", strings.ReplaceAll(r.String(), filepath.Dir(dir), "$ROOT"))
	for _, args := range [][]string{{"list"}, {"resolve", "--check"}, {"render", "demos"}} {
		if r := h.Run(profile.NewCmd, append(args, "--env", "sandbox", "--dir", dir)...); r.Code != 0 {
			t.Errorf("%v: %s", args, r)
		}
	}
}

func TestInitRefusals(t *testing.T) {
	root := teamTree(t)
	h := clitest.New(t, "kubectl-profile")
	before := platformtest.Checksums(t, root)
	// No --env; no config where the default says; a feature no group has.
	r := h.Run(profile.NewCmd, "init", "--dir", filepath.Join(root, "clusters"))
	if r.Code != 1 || !strings.Contains(r.Stderr, "init needs --env") {
		t.Errorf("no --env: %s", r)
	}
	if r := runTeam(t, h, root, "init"); !strings.Contains(r, "no config file $ROOT/clusters/team/config.yaml: pass --config") || !strings.HasPrefix(r, "exit 1") {
		t.Errorf("no config: %s", r)
	}
	if r := h.Run(profile.NewCmd, "init", "--env", "nope", "--dir", filepath.Join(root, "clusters")); !strings.Contains(r.Stderr, "no environment folder "+filepath.Join(root, "clusters", "nope")) {
		t.Errorf("no env folder: %s", r)
	}
	if !reflect.DeepEqual(platformtest.Checksums(t, root), before) {
		t.Error("a refused init wrote")
	}
}

func TestInitHelp(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	r := h.Run(profile.NewCmd, "init", "--help")
	for _, want := range []string{"kubectl profile init --env team --config config/platform-config.yaml", "--force", "--config string", "nothing\nelse"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("help does not say %q:\n%s", want, r.Stdout)
		}
	}
	if r := h.Run(profile.NewCmd, "--help"); !strings.Contains(r.Stdout, "init ") {
		t.Errorf("root help does not list init:\n%s", r.Stdout)
	}
}
