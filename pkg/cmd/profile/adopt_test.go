package profile_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

// The adopted repository of pkg/platform/testdata/adopt: ApplicationSets
// edge-<layer> generating <group>-apps, the config in config/ outside
// clusters/, the team's own kustomization, manual-sync apps without gate
// annotations.
func adoptRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "platform", "testdata", "adopt"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// runTeam runs kubectl profile on the team environment under root, with root
// shown as $ROOT.
func runTeam(t *testing.T, h *clitest.Harness, root string, args ...string) string {
	t.Helper()
	args = append(args, "--env", "team", "--dir", filepath.Join(root, "clusters"))
	return strings.ReplaceAll(h.Run(profile.NewCmd, args...).String(), root, "$ROOT")
}

// GATED counts the annotated gates, what costgate list shows: none here. The
// manual-sync apps without a gate annotation are MANUAL, with a note.
func TestAdoptedListCountsManualSyncAppsApart(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	clitest.Golden(t, "adopt-list", runTeam(t, h, adoptRoot(t), "list", "-o", "wide"))
}

// resolve --check passes on the team's groups file (other formatting, no
// header: it means the same), and resolve writes nothing, not one mtime.
func TestAdoptedResolveCheckAndResolve(t *testing.T) {
	root := platformtest.CopyTree(t, adoptRoot(t), nil)
	h := clitest.New(t, "kubectl-profile")
	before := platformtest.Snapshot(t, root)
	clitest.Golden(t, "adopt-resolve-check", runTeam(t, h, root, "resolve", "--check"))
	clitest.Golden(t, "adopt-resolve", runTeam(t, h, root, "resolve"))
	platformtest.Unchanged(t, root, before)
}

// When the config changes, resolve refuses to overwrite the team's groups file
// (it did not write it): exit 1, the file named, nothing written.
func TestAdoptedResolveRefusesTheTeamsGroupsFile(t *testing.T) {
	root := platformtest.CopyTree(t, adoptRoot(t), map[string]platformtest.Edit{
		"config/platform-config.yaml": platformtest.Replace(t, "demos: false", "demos: true"),
	})
	h := clitest.New(t, "kubectl-profile")
	before := platformtest.Snapshot(t, root)
	clitest.Golden(t, "adopt-resolve-check-stale", runTeam(t, h, root, "resolve", "--check"))
	clitest.Golden(t, "adopt-resolve-refused", runTeam(t, h, root, "resolve"))
	clitest.Golden(t, "adopt-render-stale", runTeam(t, h, root, "render", "core"))
	platformtest.Unchanged(t, root, before)
}

func TestAdoptedRender(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	clitest.Golden(t, "adopt-render-gateway", runTeam(t, h, adoptRoot(t), "render", "gateway"))
}

// The same render from a plain folder of the team's ApplicationSets (no
// kustomization.yaml): the namespace comes from the config instead.
func TestAdoptedRenderPlainFolder(t *testing.T) {
	root := platformtest.CopyTree(t, adoptRoot(t), nil)
	h := clitest.New(t, "kubectl-profile")
	withKustomization := runTeam(t, h, root, "render", "gateway")
	removeFile(t, filepath.Join(root, "clusters", "team", "appsets", "kustomization.yaml"))
	if got := runTeam(t, h, root, "render", "gateway"); got != withKustomization {
		t.Errorf("render from the plain folder:\n%s\nwith the kustomization:\n%s", got, withKustomization)
	}
}

// teamApps are the Applications a profile of the team expects, Synced and
// Healthy (gated ones OutOfSync and Missing), minus those in absent.
func teamApps(t *testing.T, profileName string, absent ...string) []runtime.Object {
	t.Helper()
	env, err := platform.Load(filepath.Join(adoptRoot(t), "clusters"), "team")
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Profile(profileName)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := env.ExpectedApps(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for _, a := range apps {
		if slices.Contains(absent, a.Name) {
			continue
		}
		status := map[string]any{"sync": map[string]any{"status": "Synced", "revision": "abc123"}, "health": map[string]any{"status": "Healthy"}}
		if a.Gated {
			status = map[string]any{"sync": map[string]any{"status": "OutOfSync"}, "health": map[string]any{"status": "Missing"}}
		}
		out = append(out, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": a.Name, "namespace": "argocd"},
			"status":   status,
		}})
	}
	return out
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// apply, status, wait and prune name the tree's objects: edge-<layer> and
// <group>-apps, and wait names what has not created an app yet.
func TestAdoptedApplyStatusWaitPrune(t *testing.T) {
	root := adoptRoot(t)
	h := clitest.New(t, "kubectl-profile", teamApps(t, "gateway", "gpu-models-apps", "mixtral", "litellm")...)
	clitest.Golden(t, "adopt-apply-gateway", runTeam(t, h, root, "apply", "gateway"))
	for _, l := range []string{"core", "inference", "gateway"} {
		set := h.Fake.Get(kube.ApplicationSets, "argocd", "edge-"+l)
		if set == nil || set.GetLabels()[platform.LayerLabel] != l {
			t.Errorf("edge-%s applied without its layer label: %v", l, set)
		}
	}
	clitest.Golden(t, "adopt-status", runTeam(t, h, root, "status"))
	clitest.Golden(t, "adopt-wait-gateway", runTeam(t, h, root, "wait", "gateway", "--timeout", "300ms"))
	h.Fake.Dynamic.ClearActions()
	clitest.Golden(t, "adopt-apply-core-prune", runTeam(t, h, root, "apply", "core", "--prune"))
	for _, gone := range []string{"edge-inference", "edge-gateway"} {
		if h.Fake.Get(kube.ApplicationSets, "argocd", gone) != nil {
			t.Errorf("%s not pruned", gone)
		}
	}
}

// An ApplicationSet stuck being deleted: the message names the Applications it
// generates, as the tree names them.
func TestAdoptedStuckDeletionNamesTheGroupApps(t *testing.T) {
	root := adoptRoot(t)
	h := clitest.New(t, "kubectl-profile")
	if r := runTeam(t, h, root, "apply", "gateway"); !strings.HasPrefix(r, "exit 0") {
		t.Fatal(r)
	}
	u := h.Fake.Get(kube.ApplicationSets, "argocd", "edge-gateway").DeepCopy()
	now := metaNow()
	u.SetDeletionTimestamp(&now)
	if err := h.Fake.Dynamic.Tracker().Update(kube.ApplicationSets.GVR, u, "argocd"); err != nil {
		t.Fatal(err)
	}
	r := runTeam(t, h, root, "apply", "gateway", "--timeout", "200ms")
	if !strings.Contains(r, "applicationset.argoproj.io/edge-gateway is still being deleted after 200ms (its Applications are being deleted; see kubectl -n argocd get applications gateway-apps chat-ui-apps)") {
		t.Errorf("stuck deletion:\n%s", r)
	}
}
