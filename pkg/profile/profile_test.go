package profile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func sandbox(t *testing.T) *platform.Env {
	t.Helper()
	env, err := platform.Load("../../clusters", "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func profileOf(t *testing.T, env *platform.Env, name string) platform.Profile {
	t.Helper()
	p, err := env.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// events records what Apply reports, a line each.
type events []string

func (e *events) report() ApplyReport {
	add := func(s string) { *e = append(*e, s) }
	return ApplyReport{
		Applied:     func(ref, verb string) { add(ref + " " + verb) },
		WaitingOut:  func(ref string) { add("waiting out " + ref) },
		LeftApplied: func(layers []string) { add("left " + strings.Join(layers, ",")) },
		PrunePlan:   func(sets []unstructured.Unstructured) { add("plan " + strings.Join(LayersOf(sets), ",")) },
		Deleting:    func(ref string) { add("deleting " + ref) },
		Pruned:      func(ref string) { add("pruned " + ref) },
	}
}

func (e events) with(prefix string) []string {
	var out []string
	for _, l := range e {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func apply(t *testing.T, f *kubetest.Fake, env *platform.Env, name string, opts ApplyOptions) (events, error) {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	var ev events
	err := Apply(context.Background(), f.Client, env, profileOf(t, env, name), opts, ev.report())
	return ev, err
}

func recorded(f *kubetest.Fake, env *platform.Env) string {
	p := f.Get(kube.ConfigMaps, env.Config.Namespace, ApplySet(env).Name)
	if p == nil {
		return ""
	}
	return p.GetAnnotations()[AppliedProfileAnnotation]
}

// Widening creates each layer's ApplicationSet and records the profile;
// narrowing with Prune deletes the wider layers in reverse bring-up order.
func TestApplyWidenThenNarrowWithPrune(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient()
	ev, err := apply(t, f, env, "full", ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := Desired(env, profileOf(t, env, "full"))
	if got := ev.with("applicationset"); len(got) == 0 || len(ev.with("")) != len(objs) || slices.ContainsFunc(ev, func(l string) bool { return !strings.HasSuffix(l, " created") }) {
		t.Errorf("first apply of full: %q", ev)
	}
	if recorded(f, env) != "full" {
		t.Errorf("recorded %q", recorded(f, env))
	}
	ev, err = apply(t, f, env, "serving", ApplyOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	plan := ev.with("plan ")
	wantOrder := slices.Clone(env.LayerNames())
	slices.Reverse(wantOrder)
	var pruned []string
	for _, l := range wantOrder {
		if !slices.Contains(profileOf(t, env, "serving").Layers, l) {
			pruned = append(pruned, l)
		}
	}
	if len(plan) != 1 || plan[0] != "plan "+strings.Join(pruned, ",") {
		t.Errorf("plan %q, want layers %v", plan, pruned)
	}
	if got := len(ev.with("pruned ")); got != len(pruned) {
		t.Errorf("%d pruned, want %d: %q", got, len(pruned), ev)
	}
	for _, s := range ev.with("pruned applicationset.argoproj.io/") {
		if f.Get(kube.ApplicationSets, env.Config.Namespace, strings.TrimPrefix(s, "pruned applicationset.argoproj.io/")) != nil {
			t.Errorf("%s still there", s)
		}
	}
	if recorded(f, env) != "serving" {
		t.Errorf("recorded %q", recorded(f, env))
	}
}

// Without Prune the wider layers stay and are named; a dry run writes nothing.
func TestApplyNarrowWithoutPruneAndDryRun(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient()
	if _, err := apply(t, f, env, "full", ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	ev, err := apply(t, f, env, "platform", ApplyOptions{})
	if err != nil || len(ev.with("left ")) != 1 || len(ev.with("pruned")) != 0 {
		t.Errorf("narrow without prune: %q %v", ev, err)
	}
	f.Dynamic.ClearActions()
	ev, err = apply(t, f, env, "serving", ApplyOptions{DryRun: true, Prune: true})
	if err != nil || len(ev.with("plan ")) != 1 || len(ev.with("pruned")) != 0 {
		t.Errorf("dry run: %q %v", ev, err)
	}
	if w := f.WriteLines(); strings.Contains(w, "delete") || recorded(f, env) != "platform" {
		t.Errorf("a dry run wrote:\n%s (recorded %q)", w, recorded(f, env))
	}
}

// A member the server refuses fails the dry run: nothing is written.
func TestApplyRefusedInTheDryRunWritesNothing(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient()
	f.Dynamic.PrependReactor("patch", "applicationsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applicationsets"}, a.(k8stesting.PatchAction).GetName(), errors.New("no"))
	})
	_, err := apply(t, f, env, "platform", ApplyOptions{})
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.Stage != ApplyChecking || !strings.HasPrefix(err.Error(), "nothing was written: the server-side dry run refused applicationset.argoproj.io/") {
		t.Fatalf("got %v", err)
	}
	if f.Get(kube.ConfigMaps, env.Config.Namespace, ApplySet(env).Name) != nil {
		t.Error("the ApplySet parent was written")
	}
}

// A write that fails halfway says how many members landed, and the record
// still names the profile that was applied before.
func TestApplyFailingHalfwayKeepsThePreviousRecord(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient()
	if _, err := apply(t, f, env, "platform", ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, _ := Desired(env, profileOf(t, env, "full"))
	last := objs[len(objs)-1].GetName()
	f.Dynamic.PrependReactor("patch", "applicationsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if p.GetName() == last && len(p.PatchOptions.DryRun) == 0 {
			return true, nil, errors.New("boom")
		}
		return false, nil, nil
	})
	_, err := apply(t, f, env, "full", ApplyOptions{})
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.Stage != ApplyWriting || ae.Done != len(objs)-1 || ae.Total != len(objs) {
		t.Fatalf("got %+v", err)
	}
	if recorded(f, env) != "platform" {
		t.Errorf("recorded %q after a failed apply", recorded(f, env))
	}
}

// A member an earlier prune is deleting is waited out; one that never goes
// ends the wait with a message naming its Applications.
func TestApplyWaitsOutADeletion(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient()
	if _, err := apply(t, f, env, "platform", ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	objs, _ := Desired(env, profileOf(t, env, "platform"))
	var set *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "ApplicationSet" {
			set = f.Get(kube.ApplicationSets, env.Config.Namespace, o.GetName()).DeepCopy()
		}
	}
	ts := metav1.NewTime(now)
	set.SetDeletionTimestamp(&ts)
	if err := f.Dynamic.Tracker().Update(kube.ApplicationSets.GVR, set, env.Config.Namespace); err != nil {
		t.Fatal(err)
	}
	ev, err := apply(t, f, env, "platform", ApplyOptions{Timeout: 100 * time.Millisecond})
	var ae *ApplyError
	if !errors.As(err, &ae) || ae.Stage != ApplyWaiting || len(ev.with("waiting out ")) != 1 ||
		!strings.Contains(err.Error(), "is still being deleted after 100ms (its Applications are being deleted; see kubectl -n argocd get applications ") {
		t.Fatalf("got %v after %q", err, ev)
	}
}

// An AppProject neither rendered nor in the cluster is refused before any
// write; rendered with the ApplicationSets, or already in the cluster, it passes.
func TestCheckProject(t *testing.T) {
	noProject := map[string]platformtest.Edit{"appsets/base/kustomization.yaml": platformtest.Replace(t, "- ../../projects\n", "")}
	env, err := platform.Load(platformtest.CopyEnv(t, "../../clusters", "sandbox", noProject), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	f := kubetest.NewClient()
	err = CheckProject(context.Background(), f.Client, env)
	if err == nil || !strings.HasPrefix(err.Error(), "nothing was written: the ApplicationSets name AppProject platform") {
		t.Errorf("neither rendered nor live: %v", err)
	}
	project := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "platform", "namespace": "argocd"}}}
	if err := CheckProject(context.Background(), kubetest.NewClient(project).Client, env); err != nil {
		t.Errorf("live: %v", err)
	}
	if err := CheckProject(context.Background(), f.Client, sandbox(t)); err != nil {
		t.Errorf("rendered with them: %v", err)
	}
}

// Status reads the same thing through either reader: the record and the
// members in core mode, the live group apps through Argo CD's API.
func TestReadStatusThroughBothReaders(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient()
	if _, err := apply(t, f, env, "serving", ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	core, err := ReadStatus(context.Background(), env, KubeReader{Client: f.Client}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !core.Recorded || core.AppliedProfile != "serving" || !slices.Equal(core.LiveLayers, profileOf(t, env, "serving").Layers) {
		t.Errorf("core: %+v", core)
	}
	for _, a := range core.Apps {
		if a.Sync != "Absent" {
			t.Errorf("no Application exists, %s is %s", a.Name, a.Sync)
		}
	}

	expected, _ := env.ExpectedApps(profileOf(t, env, "serving"))
	var apps []*unstructured.Unstructured
	for _, a := range expected {
		apps = append(apps, resttest.App(a.Name, "Synced", "Healthy"))
	}
	fake := resttest.New(t, apps...)
	api, err := rest.New(rest.Options{Server: fake.Host(), PlainText: true, AuthToken: resttest.Token}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	server, err := ReadStatus(context.Background(), env, ArgoReader{API: api}, now)
	if err != nil {
		t.Fatal(err)
	}
	if server.Recorded || server.AppliedProfile != "serving" || !slices.Equal(server.LiveLayers, core.LiveLayers) || len(server.Apps) != len(core.Apps) {
		t.Errorf("server: %+v\ncore: %+v", server, core)
	}
}
