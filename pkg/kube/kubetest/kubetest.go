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

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
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
	// User is who a SelfSubjectReview says the client is.
	User string

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
	f := &Fake{Readyz: "ok", User: "admin@fake.cluster", rv: 100, managed: map[objectKey][]metav1.ManagedFieldsEntry{}}
	listKinds := map[schema.GroupVersionResource]string{ScaledObjects: "ScaledObjectList"}
	for _, k := range Served {
		listKinds[k.GVR] = k.Kind + "List"
	}
	for _, o := range dyn {
		f.stamp(o.(*unstructured.Unstructured))
	}
	f.Dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, dyn...)
	f.Dynamic.PrependReactor("patch", "*", f.patch(f.Dynamic.Tracker()))
	f.Dynamic.PrependReactor("create", "*", f.create)
	f.Dynamic.PrependReactor("delete", "*", f.delete)
	f.Dynamic.PrependReactor("get", "*", f.scale(f.Dynamic.Tracker()))
	f.Dynamic.PrependReactor("patch", "*", f.scale(f.Dynamic.Tracker()))
	f.Typed = k8sfake.NewSimpleClientset(typed...)
	metaScheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(metaScheme)
	f.Metadata = metadatafake.NewSimpleMetadataClient(metaScheme, meta...)
	f.Typed.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: f.User}}}, nil
	})
	f.Typed.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.37.2", Major: "1", Minor: "37"}
	f.Typed.Resources = discoveryOf(Served)
	f.Client = &kube.Client{
		Config:   &rest.Config{Host: Server},
		Dynamic:  f.Dynamic,
		Typed:    &typedWithREST{Clientset: f.Typed, fake: f},
		Metadata: f.Metadata,
		Server:   Server,
		Context:  "fake",
	}
	f.discoverable()
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
		if r := a.GetResource().Resource; r == "selfsubjectaccessreviews" || r == "selfsubjectreviews" {
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
