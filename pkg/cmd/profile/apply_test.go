package profile_test

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

func apply(t *testing.T, h *clitest.Harness, args ...string) clitest.Result {
	t.Helper()
	return h.Run(profile.NewCmd, clitest.Args(t, "sandbox", append([]string{"apply"}, args...)...)...)
}

// reject makes the API server refuse writes of one ApplicationSet (dry run or
// not) with err.
func reject(h *clitest.Harness, name string, err error) {
	h.Fake.Dynamic.PrependReactor("patch", "applicationsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.PatchAction).GetName() == name {
			return true, nil, err
		}
		return false, nil, nil
	})
}

func TestApplyPlatformOnEmptyCluster(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	r := apply(t, h, "platform")
	clitest.Golden(t, "apply-platform", r.String()+"--- writes\n"+h.Fake.WriteLines())
	parent := h.Fake.Get(kube.ConfigMaps, "argocd", "kubectl-profile-sandbox")
	if parent == nil || parent.GetAnnotations()["profile.aidev.io/profile"] != "platform" {
		t.Fatalf("parent does not record profile platform: %v", parent)
	}
}

func TestApplyWidenThenNarrowWithPrune(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	if r := apply(t, h, "full"); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	h.Fake.Dynamic.ClearActions()
	r := apply(t, h, "serving", "--prune")
	clitest.Golden(t, "apply-serving-prune", r.String()+"--- writes\n"+h.Fake.WriteLines())
	for _, gone := range []string{"layer-routing", "layer-llm-gateway", "layer-experience", "layer-demos"} {
		if h.Fake.Get(kube.ApplicationSets, "argocd", gone) != nil {
			t.Errorf("%s not pruned", gone)
		}
	}
}

func TestApplyNarrowWithoutPruneLeavesWiderLayers(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	apply(t, h, "llm-gateway")
	h.Fake.Dynamic.ClearActions()
	r := apply(t, h, "platform")
	clitest.Golden(t, "apply-platform-no-prune", r.String()+"--- writes\n"+h.Fake.WriteLines())
}

// A refused object (invalid, or forbidden) fails the dry run: nothing is written
// and the parent still names the profile that is really applied.
func TestApplyRefusedWritesNothing(t *testing.T) {
	for name, err := range map[string]error{
		"invalid": apierrors.NewInvalid(schema.GroupKind{Group: "argoproj.io", Kind: "ApplicationSet"}, "layer-demos",
			nil),
		"forbidden": apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applicationsets"}, "layer-demos",
			errors.New(`User "viewer" cannot patch resource "applicationsets" in API group "argoproj.io" in the namespace "argocd"`)),
	} {
		t.Run(name, func(t *testing.T) {
			h := clitest.New(t, "kubectl-profile")
			apply(t, h, "platform")
			h.Fake.Dynamic.ClearActions()
			reject(h, "layer-demos", err)
			r := apply(t, h, "full")
			clitest.Golden(t, "apply-refused-"+name, r.String()+"--- writes\n"+h.Fake.WriteLines())
			if h.Fake.Get(kube.ApplicationSets, "argocd", "layer-serving") != nil {
				t.Error("layer-serving was created although the apply was refused")
			}
			if p := h.Fake.Get(kube.ConfigMaps, "argocd", "kubectl-profile-sandbox"); p.GetAnnotations()["profile.aidev.io/profile"] != "platform" {
				t.Errorf("parent records %q after a refused apply", p.GetAnnotations()["profile.aidev.io/profile"])
			}
		})
	}
}

// Ctrl-C during the writes: exit 130, the message says how far it got, the
// parent still names the old profile, and the same apply again finishes.
func TestApplyInterruptedThenResumed(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	apply(t, h, "platform")
	ctx, cancel := context.WithCancelCause(context.Background())
	h.Ctx = ctx
	interrupt := true
	h.Fake.Dynamic.PrependReactor("patch", "applicationsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if interrupt && p.GetName() == "layer-routing" && len(p.PatchOptions.DryRun) == 0 {
			cancel(cli.ErrInterrupted)
			return true, nil, context.Canceled
		}
		return false, nil, nil
	})
	r := apply(t, h, "full")
	clitest.Golden(t, "apply-interrupted", r.String())
	if p := h.Fake.Get(kube.ConfigMaps, "argocd", "kubectl-profile-sandbox"); p.GetAnnotations()["profile.aidev.io/profile"] != "platform" {
		t.Errorf("parent records %q after an interrupted apply", p.GetAnnotations()["profile.aidev.io/profile"])
	}
	h.Ctx, interrupt = context.Background(), false
	if r := apply(t, h, "full"); r.Code != 0 {
		t.Fatalf("apply again: %s\n%s", r, h.Fake.WriteLines())
	}
	if p := h.Fake.Get(kube.ConfigMaps, "argocd", "kubectl-profile-sandbox"); p.GetAnnotations()["profile.aidev.io/profile"] != "full" {
		t.Errorf("parent records %q after the second apply", p.GetAnnotations()["profile.aidev.io/profile"])
	}
}

func TestApplyDryRuns(t *testing.T) {
	for _, mode := range []string{"server", "client"} {
		h := clitest.New(t, "kubectl-profile")
		r := apply(t, h, "serving", "--dry-run="+mode)
		clitest.Golden(t, "apply-dry-run-"+mode, r.String()+"--- writes\n"+h.Fake.WriteLines())
	}
}

func TestApplyBadInput(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	for name, args := range map[string][]string{
		"unknown-profile": {"nope"},
		"bad-dry-run":     {"full", "--dry-run=maybe"},
		"no-profile":      {},
		"bad-timeout":     {"full", "--timeout=0s"},
	} {
		r := apply(t, h, args...)
		clitest.Golden(t, "apply-bad-"+name, r.String())
	}
	if w := h.Fake.Writes(); w != "" {
		t.Errorf("bad input wrote:\n%s", w)
	}
}

// ApplicationSets whose AppProject is neither rendered with them nor in the
// cluster are refused before any write (Argo CD would create none of their
// apps); the same tree with the AppProject's folder under projects: in
// platform.yaml renders and applies it first.
func TestApplyRefusesAnAppProjectThatIsNowhere(t *testing.T) {
	noProject := map[string]platformtest.Edit{"appsets/base/kustomization.yaml": platformtest.Replace(t, "- ../../projects\n", "")}
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", noProject)
	h := clitest.New(t, "kubectl-profile")
	r := h.Run(profile.NewCmd, "apply", "platform", "--env", "sandbox", "--dir", dir)
	want := "error: nothing was written: the ApplicationSets name AppProject platform (spec.template.spec.project), which " +
		dir + "/sandbox/appsets/overlay does not render and namespace argocd does not have, so Argo CD would create none of their apps: " +
		"render it with them (projects: <its folder> in " + dir + "/sandbox/platform.yaml) or create it first\n"
	if r.Code != 1 || r.Stderr != want || h.Fake.WriteLines() != "" {
		t.Errorf("exit %d: %q\nwant %q\nwrites: %s", r.Code, r.Stderr, want, h.Fake.WriteLines())
	}

	noProject["platform.yaml"] = platformtest.Replace(t, "appsets: appsets/overlay\n", "appsets: appsets/overlay\nprojects: projects\n")
	dir = platformtest.CopyEnv(t, clitest.Clusters(t), "sandbox", noProject)
	h = clitest.New(t, "kubectl-profile")
	if r := h.Run(profile.NewCmd, "apply", "platform", "--env", "sandbox", "--dir", dir); r.Code != 0 || h.Fake.Get(kube.AppProjects, "argocd", "platform") == nil {
		t.Errorf("with projects: exit %d: %s", r.Code, r)
	}
}
