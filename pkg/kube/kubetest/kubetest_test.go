package kubetest_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// apply server-side applies a YAML configuration of one Application as manager.
func apply(t *testing.T, f *kubetest.Fake, manager string, force bool, doc string) (*unstructured.Unstructured, error) {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := sigyaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return f.Resource(kube.Applications, "argocd").Apply(context.Background(), u.GetName(), u, metav1.ApplyOptions{FieldManager: manager, Force: force})
}

func mustApply(t *testing.T, f *kubetest.Fake, manager string, doc string) *unstructured.Unstructured {
	t.Helper()
	u, err := apply(t, f, manager, false, doc)
	if err != nil {
		t.Fatalf("apply by %s: %v", manager, err)
	}
	return u
}

const app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd"

func live(t *testing.T, f *kubetest.Fake) map[string]any {
	t.Helper()
	u := f.Get(kube.Applications, "argocd", "a")
	if u == nil {
		t.Fatal("the Application is gone")
	}
	return u.Object
}

func field(t *testing.T, f *kubetest.Fake, path ...string) (any, bool) {
	t.Helper()
	v, found, _ := unstructured.NestedFieldNoCopy(live(t, f), path...)
	return v, found
}

func wantOwners(t *testing.T, f *kubetest.Fake, want map[string][]string) {
	t.Helper()
	if got := f.Owners(kube.Applications, "argocd", "a"); !reflect.DeepEqual(got, want) {
		t.Errorf("owners:\n%v\nwant\n%v", got, want)
	}
}

// owning lists the managers that own path, sorted.
func owning(f *kubetest.Fake, path string) []string {
	var out []string
	for owner, paths := range f.Owners(kube.Applications, "argocd", "a") {
		if slices.Contains(paths, path) {
			out = append(out, owner)
		}
	}
	slices.Sort(out)
	return out
}

// A re-apply that leaves out a field its manager owned alone removes it; one
// another manager owns stays, and so does a field both set.
func TestApplyRemovesWhatTheManagerNoLongerApplies(t *testing.T) {
	f := kubetest.NewClient()
	mustApply(t, f, "profile", app+", labels: {tier: x, team: a}}\nspec: {project: p, source: {path: one, targetRevision: HEAD}, syncPolicy: {syncOptions: [A=true, B=true]}}")
	wantOwners(t, f, map[string][]string{"profile": {
		".metadata.labels.team", ".metadata.labels.tier", ".spec.project", ".spec.source.path", ".spec.source.targetRevision", ".spec.syncPolicy.syncOptions",
	}})
	mustApply(t, f, "costgate", app+", labels: {team: a}}\nspec: {source: {targetRevision: HEAD}, info: [{name: cost, value: '3'}]}")
	rv := f.Get(kube.Applications, "argocd", "a").GetResourceVersion()

	out := mustApply(t, f, "profile", app+"}\nspec: {project: p, syncPolicy: {syncOptions: [A=true]}}")
	if _, found := field(t, f, "metadata", "labels", "tier"); found {
		t.Error("a label its only applier left out is still there")
	}
	if _, found := field(t, f, "spec", "source", "path"); found {
		t.Error("spec.source.path, left out by its only applier, is still there")
	}
	if v, _ := field(t, f, "metadata", "labels", "team"); v != "a" {
		t.Errorf("the label another manager applies too: %v", v)
	}
	if v, _ := field(t, f, "spec", "source", "targetRevision"); v != "HEAD" {
		t.Errorf("the field another manager applies too: %v", v)
	}
	if v, _ := field(t, f, "spec", "info"); v == nil {
		t.Error("another manager's field was removed")
	}
	if v, _ := field(t, f, "spec", "syncPolicy", "syncOptions"); !reflect.DeepEqual(v, []any{"A=true"}) {
		t.Errorf("a list is replaced whole: %v", v)
	}
	if out.GetResourceVersion() == rv || out.GetManagedFields() != nil {
		t.Errorf("the write: resourceVersion %s (was %s), managedFields %v", out.GetResourceVersion(), rv, out.GetManagedFields())
	}
	wantOwners(t, f, map[string][]string{
		"profile":  {".spec.project", ".spec.syncPolicy.syncOptions"},
		"costgate": {".metadata.labels.team", ".spec.info", ".spec.source.targetRevision"},
	})

	// The same configuration again changes nothing: no new resourceVersion.
	rv = f.Get(kube.Applications, "argocd", "a").GetResourceVersion()
	if out := mustApply(t, f, "profile", app+"}\nspec: {project: p, syncPolicy: {syncOptions: [A=true]}}"); out.GetResourceVersion() != rv {
		t.Errorf("a no-op apply wrote resourceVersion %s (was %s)", out.GetResourceVersion(), rv)
	}
}

// A field another manager owns with another value is a conflict without
// force (nothing changes) and is taken over with it.
func TestApplyConflictsUnlessForced(t *testing.T) {
	f := kubetest.NewClient()
	mustApply(t, f, "profile", app+"}\nspec: {project: p, source: {targetRevision: HEAD}}")
	before := live(t, f)

	// The same value is no conflict: both own it.
	mustApply(t, f, "argocd", app+"}\nspec: {source: {targetRevision: HEAD}}")
	_, err := apply(t, f, "costgate", false, app+"}\nspec: {project: other, source: {targetRevision: v2}}")
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `conflicts with "profile"`) || !strings.Contains(err.Error(), ".spec.project") {
		t.Fatalf("conflict: %v", err)
	}
	if !reflect.DeepEqual(live(t, f), before) {
		t.Errorf("a refused apply changed the object:\n%v\nwas\n%v", live(t, f), before)
	}

	if _, err := apply(t, f, "costgate", true, app+"}\nspec: {project: other, source: {targetRevision: v2}}"); err != nil {
		t.Fatal(err)
	}
	if v, _ := field(t, f, "spec", "project"); v != "other" {
		t.Errorf("forced: project %v", v)
	}
	for _, path := range []string{".spec.project", ".spec.source.targetRevision"} {
		if got := owning(f, path); !reflect.DeepEqual(got, []string{"costgate"}) {
			t.Errorf("%s is owned by %v, want costgate alone", path, got)
		}
	}

	// What it lost, its former owner no longer removes by leaving it out.
	mustApply(t, f, "profile", app+"}\nspec: {}")
	if v, _ := field(t, f, "spec", "project"); v != "other" {
		t.Errorf("the former owner removed a field taken over: %v", v)
	}
}

// A merge patch makes its manager an owner of what it changed: the applier
// that owned the field loses it, and leaving it out keeps the patched value.
func TestMergePatchTakesOwnership(t *testing.T) {
	f := kubetest.NewClient()
	mustApply(t, f, "profile", app+", annotations: {note: a}}\nspec: {project: p}")
	if _, err := f.Patch(context.Background(), kube.Applications, "argocd", "a", types.MergePatchType, []byte(`{"metadata":{"annotations":{"note":"b"}}}`), "costgate"); err != nil {
		t.Fatal(err)
	}
	// profile still owns the map it applied, not the annotation in it.
	wantOwners(t, f, map[string][]string{"profile": {".metadata.annotations", ".spec.project"}, "costgate (update)": {".metadata.annotations.note"}})
	mustApply(t, f, "profile", app+"}\nspec: {project: p}")
	if v, _ := field(t, f, "metadata", "annotations", "note"); v != "b" {
		t.Errorf("the patched annotation: %v", v)
	}
	// Applying it again with the old value conflicts with the patcher.
	if _, err := apply(t, f, "profile", false, app+", annotations: {note: a}}\nspec: {project: p}"); !apierrors.IsConflict(err) {
		t.Errorf("conflict with the patcher: %v", err)
	}
}

// The objects a test starts with belong to no applier: their fields go to
// before-first-apply, so an apply that leaves them out keeps them.
func TestApplyKeepsTheFieldsOfAnObjectItDidNotCreate(t *testing.T) {
	f := kubetest.NewClient(kubetest.Objects(app + "}\nspec: {project: p, destination: {namespace: serving}}")...)
	mustApply(t, f, "profile", app+"}\nspec: {project: p}")
	if v, _ := field(t, f, "spec", "destination", "namespace"); v != "serving" {
		t.Errorf("a field of the original object: %v", v)
	}
	if got := f.Owners(kube.Applications, "argocd", "a"); !reflect.DeepEqual(got["profile"], []string{".spec.project"}) || len(got["before-first-apply (update)"]) == 0 {
		t.Errorf("owners %v", got)
	}
}

// A dry run computes the result and writes nothing, owners included; a
// deleted object's owners go with it.
func TestApplyDryRunAndDeletion(t *testing.T) {
	f := kubetest.NewClient()
	mustApply(t, f, "profile", app+"}\nspec: {project: p, source: {path: one}}")
	u := &unstructured.Unstructured{}
	_ = sigyaml.Unmarshal([]byte(app+"}\nspec: {project: q}"), &u.Object)
	out, err := f.Client.Apply(context.Background(), u, "profile", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedString(out.Object, "spec", "source", "path"); found {
		t.Errorf("the dry run's result keeps a field the applier left out: %v", out.Object)
	}
	if v, _ := field(t, f, "spec", "project"); v != "p" {
		t.Errorf("a dry run wrote: project %v", v)
	}
	wantOwners(t, f, map[string][]string{"profile": {".spec.project", ".spec.source.path"}})

	if err := f.Resource(kube.Applications, "argocd").Delete(context.Background(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := f.Owners(kube.Applications, "argocd", "a"); len(got) != 0 {
		t.Errorf("a deleted object's owners: %v", got)
	}
}

// The API server refuses an apply without a field manager, or without
// apiVersion and kind.
func TestApplyRefusesAnIncompleteRequest(t *testing.T) {
	f := kubetest.NewClient()
	if _, err := apply(t, f, "", false, app+"}"); !apierrors.IsBadRequest(err) {
		t.Errorf("no field manager: %v", err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "a"}}}
	if _, err := f.Resource(kube.Applications, "argocd").Apply(context.Background(), "a", u, metav1.ApplyOptions{FieldManager: "m"}); !apierrors.IsBadRequest(err) {
		t.Errorf("no kind: %v", err)
	}
}

// Numbers stay whole through apply (unstructured.NestedInt64 reads them), on
// a built-in kind as on Argo CD's.
func TestApplyKeepsWholeNumbers(t *testing.T) {
	f := kubetest.NewClient()
	d := &unstructured.Unstructured{}
	_ = sigyaml.Unmarshal([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: raw-vllm, namespace: serving}\nspec: {replicas: 3, template: {spec: {containers: [{name: vllm, image: x}]}}}"), &d.Object)
	if _, err := f.Client.Apply(context.Background(), d, "argocd-controller", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Patch(context.Background(), kube.Deployments, "serving", "raw-vllm", types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), "kubectl-costgate"); err != nil {
		t.Fatal(err)
	}
	unstructured.RemoveNestedField(d.Object, "spec", "replicas")
	if _, err := f.Client.Apply(context.Background(), d, "argocd-controller", false); err != nil {
		t.Fatal(err)
	}
	if n, found, err := unstructured.NestedInt64(f.Get(kube.Deployments, "serving", "raw-vllm").Object, "spec", "replicas"); n != 0 || !found || err != nil {
		t.Errorf("replicas %d %v %v", n, found, err)
	}
	if got := f.Owners(kube.Deployments, "serving", "raw-vllm"); !reflect.DeepEqual(got["kubectl-costgate (update)"], []string{".spec.replicas"}) {
		t.Errorf("owners %v", got)
	}
	d.Object["spec"].(map[string]any)["replicas"] = int64(2)
	if _, err := f.Client.Apply(context.Background(), d, "argocd-controller", false); err != nil {
		t.Fatal(err)
	}
	if n, _, err := unstructured.NestedInt64(f.Get(kube.Deployments, "serving", "raw-vllm").Object, "spec", "replicas"); n != 2 || err != nil {
		t.Errorf("replicas after a forced apply: %d %v", n, err)
	}
}
