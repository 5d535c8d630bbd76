package kubetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Server-side apply in the fake, with the API server's own field management:
// which manager owns which field, a field its applier leaves out removed,
// a conflict without force refused.

// apply is server-side apply of patch (the applied configuration) over
// existing (nil: none), with the field manager's merge and ownership.
func (f *Fake) apply(tracker k8stesting.ObjectTracker, key objectKey, a k8stesting.PatchActionImpl, patch map[string]any, existing runtime.Object) (bool, runtime.Object, error) {
	applied := &unstructured.Unstructured{Object: patch}
	manager := a.PatchOptions.FieldManager
	gvk := applied.GroupVersionKind()
	switch {
	case manager == "":
		return true, nil, apierrors.NewBadRequest("PATCH ... fieldManager is required for apply requests")
	case gvk.Kind == "" || gvk.Version == "":
		return true, nil, apierrors.NewBadRequest("apiVersion and kind must be set in an applied configuration")
	case applied.GetName() != "" && applied.GetName() != key.name:
		return true, nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the applied object (%s) does not match the name in the URL (%s)", applied.GetName(), key.name))
	}
	applied.SetName(key.name)
	if applied.GetNamespace() == "" {
		applied.SetNamespace(key.namespace)
	}
	live := &unstructured.Unstructured{Object: map[string]any{}}
	live.SetGroupVersionKind(gvk)
	if existing != nil {
		cur, err := runtime.DefaultUnstructuredConverter.ToUnstructured(existing)
		if err != nil {
			return true, nil, err
		}
		live = &unstructured.Unstructured{Object: cur}
		live.SetManagedFields(f.managedOf(key))
	}
	fm, err := fieldManager(gvk)
	if err != nil {
		return true, nil, err
	}
	force := a.PatchOptions.Force != nil && *a.PatchOptions.Force
	out, err := fm.Apply(live.DeepCopy(), applied.DeepCopy(), manager, force)
	if err != nil {
		return true, nil, err // a conflict is a 409 already
	}
	u := out.(*unstructured.Unstructured)
	owners := withParents(u.GetManagedFields())
	u.SetManagedFields(nil)
	if len(a.PatchOptions.DryRun) > 0 {
		return true, u, nil
	}
	if existing == nil {
		f.setManaged(key, owners)
		f.stamp(u)
		return true, u, tracker.Create(key.gvr, u, key.namespace)
	}
	f.setManaged(key, owners)
	live.SetManagedFields(nil)
	if reflect.DeepEqual(u.Object, live.Object) {
		return true, u, nil // a no-op write keeps the resourceVersion, as on a real server
	}
	f.stamp(u)
	return true, u, tracker.Update(key.gvr, u, key.namespace)
}

// track records manager as the owner of what an update (a create, a merge
// patch) changed from live to obj, as the API server does; a failure keeps
// the owners as they were, as the API server's UpdateNoErrors does.
func (f *Fake) track(key objectKey, live, obj *unstructured.Unstructured, manager string) {
	fm, err := fieldManager(obj.GroupVersionKind())
	if err != nil {
		return
	}
	l := live.DeepCopy()
	l.SetManagedFields(f.managedOf(key))
	n := obj.DeepCopy()
	n.SetManagedFields(nil)
	out, err := fm.Update(l, n, manager)
	if err != nil {
		return
	}
	if u, ok := out.(*unstructured.Unstructured); ok {
		f.setManaged(key, withParents(u.GetManagedFields()))
	}
}

func (f *Fake) managedOf(key objectKey) []metav1.ManagedFieldsEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.managed[key]
}

func (f *Fake) setManaged(key objectKey, entries []metav1.ManagedFieldsEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(entries) == 0 {
		delete(f.managed, key)
		return
	}
	f.managed[key] = entries
}

// Owners says who owns which fields of an object, as server-side apply
// recorded them: the field paths (.spec.replicas, .metadata.labels.app) of
// each manager, sorted; an owner by update (create, merge patch) is named
// "<manager> (update)". Fields of objects the fake was built with belong to
// "before-first-apply (update)" from their first apply on, as on a real server.
func (f *Fake) Owners(k kube.Kind, namespace, name string) map[string][]string {
	out := map[string][]string{}
	for _, e := range f.managedOf(objectKey{k.GVR, namespace, name}) {
		owner := e.Manager
		if e.Operation == metav1.ManagedFieldsOperationUpdate {
			owner += " (update)"
		}
		if e.FieldsV1 == nil {
			continue
		}
		var tree map[string]any
		if err := json.Unmarshal(e.FieldsV1.Raw, &tree); err != nil {
			continue
		}
		if paths := fieldPaths("", tree); len(paths) > 0 {
			out[owner] = append(out[owner], paths...)
			sort.Strings(out[owner])
		}
	}
	return out
}

// fieldPaths renders a managedFields fieldsV1 tree as the paths of its
// leaves: "f:name" is .name, "k:{...}" a list item by key, "v:..." a set
// member, "i:N" an index. A map or list owned only as the parent of fields
// (".") is not listed: its fields are.
func fieldPaths(prefix string, tree map[string]any) []string {
	var out []string
	for k, v := range tree {
		if k == "." {
			continue
		}
		var p string
		switch {
		case strings.HasPrefix(k, "f:"):
			p = prefix + "." + k[2:]
		case strings.HasPrefix(k, "k:"), strings.HasPrefix(k, "i:"):
			p = prefix + "[" + k[2:] + "]"
		case strings.HasPrefix(k, "v:"):
			p = prefix + "[=" + k[2:] + "]"
		default:
			p = prefix + "." + k
		}
		child, _ := v.(map[string]any)
		if len(child) == 0 {
			out = append(out, p)
			continue
		}
		out = append(out, fieldPaths(p, child)...)
	}
	return out
}

// withParents makes an updater (create, merge patch) own the maps that hold
// the fields it owns. The deduced schema has maps where a real one has
// structs, whose fields the API server counts as owned along with what is in
// them; without this, an applier that stops applying .metadata.annotations
// would remove it whole, annotations another manager set included, where a
// real server keeps them.
func withParents(entries []metav1.ManagedFieldsEntry) []metav1.ManagedFieldsEntry {
	for i, e := range entries {
		if e.Operation != metav1.ManagedFieldsOperationUpdate || e.FieldsV1 == nil {
			continue
		}
		var tree map[string]any
		if err := json.Unmarshal(e.FieldsV1.Raw, &tree); err != nil {
			continue
		}
		var mark func(node map[string]any)
		mark = func(node map[string]any) {
			for k, v := range node {
				child, _ := v.(map[string]any)
				if k == "." || len(child) == 0 {
					continue
				}
				if strings.HasPrefix(k, "f:") {
					child["."] = map[string]any{}
				}
				mark(child)
			}
		}
		mark(tree)
		raw, err := json.Marshal(tree)
		if err != nil {
			continue
		}
		entries[i].FieldsV1 = &metav1.FieldsV1{Raw: raw}
	}
	return entries
}

// fieldManager is the API server's field manager for one kind, with a schema
// deduced from the objects themselves (maps are structs, lists atomic), as
// for a CRD without a structural schema: Argo CD's kinds and the built-in
// ones alike.
func fieldManager(gvk schema.GroupVersionKind) (*managedfields.FieldManager, error) {
	return managedfields.NewDefaultCRDFieldManager(managedfields.NewDeducedTypeConverter(), unstructuredConverter{}, nopDefaulter{}, unstructuredCreater{}, gvk, gvk.GroupVersion(), "", nil)
}

// unstructuredConverter converts nothing: every object here has one version.
type unstructuredConverter struct{}

func (unstructuredConverter) Convert(in, out, _ any) error {
	u, ok := in.(*unstructured.Unstructured)
	o, ok2 := out.(*unstructured.Unstructured)
	if !ok || !ok2 {
		return fmt.Errorf("kubetest converts unstructured objects only, not %T to %T", in, out)
	}
	o.Object = runtime.DeepCopyJSON(u.Object)
	return nil
}

func (unstructuredConverter) ConvertToVersion(in runtime.Object, _ runtime.GroupVersioner) (runtime.Object, error) {
	return in, nil
}

func (unstructuredConverter) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

type nopDefaulter struct{}

func (nopDefaulter) Default(runtime.Object) {}

type unstructuredCreater struct{}

func (unstructuredCreater) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	return u, nil
}
