package profile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

func TestStatusGolden(t *testing.T) {
	h := clitest.New(t, "kubectl-profile", liveApps(t, "serving", map[string]map[string]any{
		"kserve": {"sync": map[string]any{"status": "OutOfSync"}, "health": map[string]any{"status": "Progressing"}},
	})...)
	if r := apply(t, h, "serving"); r.Code != 0 {
		t.Fatal(r)
	}
	for _, out := range []string{"", "json", "yaml"} {
		args := clitest.Args(t, "sandbox", "status")
		if out != "" {
			args = append(args, "-o", out)
		}
		clitest.Golden(t, "status-"+out, h.Run(profile.NewCmd, args...).String())
	}
}

func TestStatusBeforeAnyApply(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	clitest.Golden(t, "status-empty", h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "status")...).String())
}

func TestDiff(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	apply(t, h, "platform")
	h.Fake.Dynamic.ClearActions()
	clitest.Golden(t, "diff-none", h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "diff", "platform")...).String())
	r := h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "diff", "serving")...)
	if r.Code != 1 || !strings.Contains(r.Stdout, "+++ applicationset.argoproj.io/layer-serving (after apply)") {
		t.Errorf("diff serving after platform: %s", r)
	}
	if w := h.Fake.WriteLines(); !allDryRun(w) {
		t.Errorf("diff wrote for real:\n%s", w)
	}
	clitest.Golden(t, "diff-bad-profile", h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "diff", "nope")...).String())
}

func allDryRun(writes string) bool {
	for _, l := range strings.Split(strings.TrimSpace(writes), "\n") {
		if !strings.Contains(l, "dryRun") {
			return false
		}
	}
	return true
}

func TestRenderJSONAndYAML(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	r := h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "render", "platform")...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "kind: ApplicationSet\n") || strings.Count(r.Stdout, "\n---\n") != 1 {
		t.Errorf("render platform -o yaml: %s", r)
	}
	r = h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "render", "platform", "-o", "json")...)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "{") {
		t.Errorf("render -o json: %s", r)
	}
	clitest.Golden(t, "render-bad-output", h.Run(profile.NewCmd, clitest.Args(t, "sandbox", "render", "platform", "-o", "xml")...).String())
}

func TestResolveCheckWriteAndCheckAgain(t *testing.T) {
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", map[string]platformtest.Edit{
		"config.yaml": platformtest.Replace(t, "  demos: true", "  demos: false"),
	})
	h := clitest.New(t, "kubectl-profile")
	run := func(args ...string) string {
		return strings.ReplaceAll(h.Run(profile.NewCmd, append(args, "--env", "sandbox", "--dir", dir)...).String(), dir, "$DIR")
	}
	clitest.Golden(t, "resolve-check-stale", run("resolve", "--check"))
	clitest.Golden(t, "resolve-write", run("resolve"))
	clitest.Golden(t, "resolve-again", run("resolve"))
	clitest.Golden(t, "resolve-check-fresh", run("resolve", "--check"))
	groups, err := os.ReadFile(filepath.Join(dir, "sandbox", "groups.yaml"))
	if err != nil || !strings.Contains(string(groups), "name: demos") {
		t.Fatalf("groups.yaml: %v", err)
	}
}

// An ApplicationSet left being deleted by an interrupted prune is waited out,
// then created again, instead of being reported "configured" and vanishing.
func TestApplyWaitsOutAnApplicationSetBeingDeleted(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	apply(t, h, "serving")
	set := h.Fake.Get(kube.ApplicationSets, "argocd", "layer-serving")
	set.SetDeletionTimestamp(nil)
	u := set.DeepCopy()
	now := metaNow()
	u.SetDeletionTimestamp(&now)
	if err := h.Fake.Dynamic.Tracker().Update(kube.ApplicationSets.GVR, u, "argocd"); err != nil {
		t.Fatal(err)
	}
	// Argo CD finishes the deletion once the wait has started watching.
	h.Fake.Dynamic.PrependWatchReactor("applicationsets", func(a k8stesting.Action) (bool, watchI, error) {
		go func() { _ = h.Fake.Dynamic.Tracker().Delete(kube.ApplicationSets.GVR, "argocd", "layer-serving") }()
		return false, nil, nil
	})
	r := apply(t, h, "serving")
	clitest.Golden(t, "apply-after-deletion", r.String())
	if got := h.Fake.Get(kube.ApplicationSets, "argocd", "layer-serving"); got == nil || got.GetDeletionTimestamp() != nil {
		t.Errorf("layer-serving not created again: %v", got)
	}
}

type watchI = watch.Interface

func metaNow() metav1.Time { return metav1.NewTime(clitest.Clock) }
