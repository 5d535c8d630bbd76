// Package kubetest builds a kube.Client over client-go's fakes, for unit tests of
// the commands and the core packages: the dynamic fake (which supports watch, so
// kube.Watch runs under it), the typed fake clientset and the metadata fake. The
// fake records every request; Writes renders the writes for golden files.
//
// Server-side apply on the dynamic fake is the API server's own field management
// (k8s.io/apimachinery's managedfields, over a schema deduced from the objects,
// as for a CRD without one): an apply records the fields its manager owns; a
// re-apply that leaves out a field the manager owned alone removes it; a field
// another manager owns (by apply, create or merge patch) is kept; changing one
// another manager owns is a 409 Conflict without force, and takes it over with
// force. The owners are kept beside the objects, not in metadata.managedFields
// (what commands print and golden files hold stays as it was): Owners reads them.
// Writes that bypass the requests (Store, the tracker itself) record no owner.
package kubetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/rest"
	restfake "k8s.io/client-go/rest/fake"
	k8stesting "k8s.io/client-go/testing"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Server is what the fake client says it talks to, in messages.
const Server = "https://fake.cluster:6443"

// ScaledObjects is KEDA's kind (pkg/costgate knows it; this package must not
// import costgate, whose tests import this package).
var ScaledObjects = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}

// Fake is a kube.Client over fakes, with the fakes at hand.
type Fake struct {
	*kube.Client
	Dynamic  *dynamicfake.FakeDynamicClient
	Typed    *k8sfake.Clientset
	Metadata *metadatafake.FakeMetadataClient
	// Readyz is what GET /readyz answers (the doctor's cluster check); an error
	// makes it fail like an unreachable server.
	Readyz    string
	ReadyzErr error

	mu       sync.Mutex
	rv       int
	storedRV int // Store's numbers, from 1001: apart from the requests' own
	// managed is each object's managedFields, kept out of the stored object.
	managed map[objectKey][]metav1.ManagedFieldsEntry
}

type objectKey struct {
	gvr             schema.GroupVersionResource
	namespace, name string
}

// NewClient builds a fake client holding objs: unstructured objects go to the
// dynamic fake, *metav1.PartialObjectMetadata to the metadata fake, and typed
// objects (corev1.Node, storagev1.StorageClass, …) to the typed fake.
func NewClient(objs ...runtime.Object) *Fake {
	var dyn, typed, meta []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *unstructured.Unstructured:
			dyn = append(dyn, o)
		case *metav1.PartialObjectMetadata:
			meta = append(meta, o)
		default:
			typed = append(typed, o)
		}
	}
	f := &Fake{Readyz: "ok", rv: 100, managed: map[objectKey][]metav1.ManagedFieldsEntry{}}
	listKinds := map[schema.GroupVersionResource]string{ScaledObjects: "ScaledObjectList"}
	for _, k := range []kube.Kind{kube.AppProjects, kube.ApplicationSets, kube.Applications, kube.Deployments, kube.InferenceServices, kube.ConfigMaps, kube.Pods} {
		listKinds[k.GVR] = k.Kind + "List"
	}
	for _, o := range dyn {
		f.stamp(o.(*unstructured.Unstructured))
	}
	f.Dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, dyn...)
	f.Dynamic.PrependReactor("patch", "*", f.patch(f.Dynamic.Tracker()))
	f.Dynamic.PrependReactor("create", "*", f.create)
	f.Dynamic.PrependReactor("delete", "*", f.delete)
	f.Typed = k8sfake.NewSimpleClientset(typed...)
	metaScheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(metaScheme)
	f.Metadata = metadatafake.NewSimpleMetadataClient(metaScheme, meta...)
	f.Typed.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.37.2", Major: "1", Minor: "37"}
	f.Client = &kube.Client{
		Config:   &rest.Config{Host: Server},
		Dynamic:  f.Dynamic,
		Typed:    &typedWithREST{Clientset: f.Typed, fake: f},
		Metadata: f.Metadata,
		Server:   Server,
		Context:  "fake",
	}
	return f
}

// stamp gives an object a resourceVersion, as the API server would.
func (f *Fake) stamp(u *unstructured.Unstructured) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	u.SetResourceVersion(strconv.Itoa(f.rv))
}

// create stamps a resourceVersion on created objects and records their
// creator as the owner of every field, then lets the tracker store them.
func (f *Fake) create(action k8stesting.Action) (bool, runtime.Object, error) {
	if a, ok := action.(k8stesting.CreateActionImpl); ok && a.GetSubresource() == "" {
		if u, ok := a.GetObject().(*unstructured.Unstructured); ok {
			f.stamp(u)
			if len(a.CreateOptions.DryRun) == 0 {
				key := objectKey{a.GetResource(), a.GetNamespace(), u.GetName()}
				f.setManaged(key, nil)
				empty := &unstructured.Unstructured{}
				empty.SetGroupVersionKind(u.GroupVersionKind())
				f.track(key, empty, u, a.CreateOptions.FieldManager)
			}
		}
	}
	return false, nil, nil
}

// delete forgets the owners of a deleted object's fields.
func (f *Fake) delete(action k8stesting.Action) (bool, runtime.Object, error) {
	if a, ok := action.(k8stesting.DeleteActionImpl); ok && a.GetSubresource() == "" && len(a.DeleteOptions.DryRun) == 0 {
		f.setManaged(objectKey{a.GetResource(), a.GetNamespace(), a.GetName()}, nil)
	}
	return false, nil, nil
}

// patch implements server-side apply (see the package comment; honouring dry
// run) and merge patches with a resourceVersion precondition (409 Conflict when
// it does not match, the patcher recorded as the owner of what it changed),
// which the default tracker does not.
func (f *Fake) patch(tracker k8stesting.ObjectTracker) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, runtime.Object, error) {
		a, ok := action.(k8stesting.PatchActionImpl)
		if !ok || a.GetSubresource() != "" {
			return false, nil, nil
		}
		gvr, ns, name := a.GetResource(), a.GetNamespace(), a.GetName()
		dry := len(a.PatchOptions.DryRun) > 0
		var patch map[string]any
		// Whole numbers as int64, as the API server stores them: a float64
		// reads as 0 through unstructured.NestedInt64.
		if err := utiljson.Unmarshal(a.GetPatch(), &patch); err != nil {
			return true, nil, apierrors.NewBadRequest(err.Error())
		}
		existing, err := tracker.Get(gvr, ns, name)
		notFound := apierrors.IsNotFound(err)
		if err != nil && !notFound {
			return true, nil, err
		}
		gr := gvr.GroupResource()
		key := objectKey{gvr, ns, name}
		switch a.GetPatchType() {
		case types.ApplyPatchType:
			if notFound {
				existing = nil
			}
			return f.apply(tracker, key, a, patch, existing)
		case types.MergePatchType:
			if notFound {
				return true, nil, err
			}
			if want, _, _ := unstructured.NestedString(patch, "metadata", "resourceVersion"); want != "" {
				if have := existing.(metav1.Object).GetResourceVersion(); have != want {
					return true, nil, apierrors.NewConflict(gr, name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
				}
			}
		default:
			return false, nil, nil
		}
		cur, err := runtime.DefaultUnstructuredConverter.ToUnstructured(existing)
		if err != nil {
			return true, nil, err
		}
		u := &unstructured.Unstructured{Object: mergePatch(cur, patch).(map[string]any)}
		if dry || reflect.DeepEqual(u.Object, cur) {
			return true, u, nil // a no-op write keeps the resourceVersion, as on a real server
		}
		f.track(key, &unstructured.Unstructured{Object: cur}, u, a.PatchOptions.FieldManager)
		f.stamp(u)
		return true, u, tracker.Update(gvr, u, ns)
	}
}

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

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	out := make(map[string]any, len(d))
	for k, v := range d {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = mergePatch(out[k], v)
	}
	return out
}

// Store writes an object as a controller or the kubelet would: watchers see it,
// and it is no request of the code under test (Writes does not list it). An
// object without a resourceVersion gets one, as the API server would stamp it.
func (f *Fake) Store(k kube.Kind, u *unstructured.Unstructured) error {
	if u.GetResourceVersion() == "" {
		f.mu.Lock()
		f.storedRV++
		u.SetResourceVersion(strconv.Itoa(1000 + f.storedRV))
		f.mu.Unlock()
	}
	tracker := f.Dynamic.Tracker()
	if _, err := tracker.Get(k.GVR, u.GetNamespace(), u.GetName()); err == nil {
		return tracker.Update(k.GVR, u, u.GetNamespace())
	}
	return tracker.Create(k.GVR, u, u.GetNamespace())
}

// Get returns an object the fake holds, for assertions.
func (f *Fake) Get(k kube.Kind, namespace, name string) *unstructured.Unstructured {
	o, err := f.Dynamic.Tracker().Get(k.GVR, namespace, name)
	if err != nil {
		return nil
	}
	u, _ := o.(*unstructured.Unstructured)
	return u
}

// Writes renders every write sent through the dynamic and typed fakes, in
// order: verb, resource, namespace/name, options that matter, and the body as
// indented JSON. Golden files compare it whole.
func (f *Fake) Writes() string {
	var b strings.Builder
	for _, a := range append(f.Dynamic.Actions(), f.Typed.Actions()...) {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete", "deletecollection":
		default:
			continue
		}
		if a.GetResource().Resource == "selfsubjectaccessreviews" {
			continue
		}
		b.WriteString(Describe(a))
	}
	return b.String()
}

// WriteLines is Writes without the bodies: one line per write, for commands
// whose bodies other goldens already pin (profile apply's rendered objects).
func (f *Fake) WriteLines() string {
	var b strings.Builder
	for _, line := range strings.Split(f.Writes(), "\n") {
		if line != "" && !strings.HasPrefix(line, "  ") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// Describe renders one action for a golden file.
func Describe(a k8stesting.Action) string {
	var b strings.Builder
	res := a.GetResource()
	what := res.Resource
	if res.Group != "" {
		what += "." + res.Group
	}
	if a.GetSubresource() != "" {
		what += "/" + a.GetSubresource()
	}
	where := a.GetNamespace()
	var body []byte
	var opts []string
	switch a := a.(type) {
	case k8stesting.PatchActionImpl:
		where += "/" + a.GetName()
		opts = append(opts, "type="+string(a.GetPatchType()))
		if a.PatchOptions.FieldManager != "" {
			opts = append(opts, "fieldManager="+a.PatchOptions.FieldManager)
		}
		if len(a.PatchOptions.DryRun) > 0 {
			opts = append(opts, "dryRun")
		}
		if a.PatchOptions.Force != nil && *a.PatchOptions.Force {
			opts = append(opts, "force")
		}
		body = a.GetPatch()
	case k8stesting.CreateActionImpl:
		if m, err := meta.Accessor(a.GetObject()); err == nil {
			where += "/" + m.GetName()
		}
		body, _ = json.Marshal(a.GetObject())
	case k8stesting.UpdateActionImpl:
		if m, err := meta.Accessor(a.GetObject()); err == nil {
			where += "/" + m.GetName()
		}
		body, _ = json.Marshal(a.GetObject())
	case k8stesting.DeleteActionImpl:
		where += "/" + a.GetName()
		if p := a.DeleteOptions.PropagationPolicy; p != nil {
			opts = append(opts, "propagation="+string(*p))
		}
		if pc := a.DeleteOptions.Preconditions; pc != nil && pc.UID != nil {
			opts = append(opts, "uid="+string(*pc.UID))
		}
	}
	fmt.Fprintf(&b, "%s %s %s", a.GetVerb(), what, strings.TrimPrefix(where, "/"))
	if len(opts) > 0 {
		sort.Strings(opts)
		fmt.Fprintf(&b, " (%s)", strings.Join(opts, ", "))
	}
	b.WriteString("\n")
	if len(body) > 0 {
		var v any
		if json.Unmarshal(body, &v) == nil {
			body, _ = json.MarshalIndent(v, "  ", "  ")
		}
		b.WriteString("  " + string(body) + "\n")
	}
	return b.String()
}

// typedWithREST is the typed fake with a discovery client whose REST client
// answers /readyz, which the fake clientset does not have.
type typedWithREST struct {
	*k8sfake.Clientset
	fake *Fake
}

func (t *typedWithREST) Discovery() discovery.DiscoveryInterfaces {
	return &discoveryWithREST{FakeDiscovery: t.Clientset.Discovery().(*fakediscovery.FakeDiscovery), fake: t.fake}
}

type discoveryWithREST struct {
	*fakediscovery.FakeDiscovery
	fake *Fake
}

func (d *discoveryWithREST) RESTClient() rest.Interface {
	return &restfake.RESTClient{
		NegotiatedSerializer: scheme.Codecs.WithoutConversion(),
		Client: restfake.CreateHTTPClient(func(req *http.Request) (*http.Response, error) {
			if d.fake.ReadyzErr != nil {
				return nil, d.fake.ReadyzErr
			}
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: readCloser(d.fake.Readyz)}, nil
		}),
	}
}

var _ kubernetes.Interface = (*typedWithREST)(nil)

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// Objects parses YAML documents (separated by ---) into unstructured objects, for
// test fixtures written the way manifests are.
func Objects(docs string) []runtime.Object {
	var out []runtime.Object
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var m map[string]any
		if err := sigyaml.Unmarshal([]byte(doc), &m); err != nil {
			panic(fmt.Sprintf("kubetest.Objects: %v\n%s", err, doc))
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}
