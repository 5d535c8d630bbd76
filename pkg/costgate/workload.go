package costgate

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Workload is the object a scale or pause gate acts on, and the Application
// that deploys it (server mode reaches objects only through their app). Its
// Kind names the group and kind the gate's target does; the version and
// resource are known for the kinds the plugins know, and resolved through
// discovery by the backend that needs them (core mode) for any other.
type Workload struct {
	App       string
	Kind      kube.Kind
	Namespace string
	Name      string
}

// WorkloadOf resolves what a gate acts on: the one place where a gate's
// target becomes a workload. A sync gate has none (the zero Workload).
func WorkloadOf(app platform.App) Workload {
	t := app.Gate.Target
	if t == nil {
		return Workload{}
	}
	// The resource's plural as kubectl guesses it until discovery says (core
	// mode resolves it before a request; server mode names kinds, not resources).
	plural, _ := meta.UnsafeGuessKindToResource(schema.GroupVersionKind{Group: t.Group, Kind: t.Kind})
	k := kube.Kind{GVR: schema.GroupVersionResource{Group: t.Group, Resource: plural.Resource}, Kind: t.Kind, Namespaced: true}
	for _, known := range []kube.Kind{kube.Deployments, kube.StatefulSets, kube.InferenceServices} {
		if known.GVR.Group == t.Group && known.Kind == t.Kind {
			k = known
		}
	}
	return Workload{App: app.Name, Kind: k, Namespace: t.Namespace, Name: t.Name}
}

// Resolved says whether the workload's resource is known without discovery.
func (w Workload) Resolved() bool { return w.Kind.GVR.Version != "" }

// String reads "Deployment serving/raw-vllm", or with the group for a kind
// that does not imply it ("LeaderWorkerSet.leaderworkerset.x-k8s.io serving/decode").
func (w Workload) String() string {
	ref := platform.ObjectRef{Group: w.Kind.GVR.Group, Kind: w.Kind.Kind}
	return ref.GroupKind() + " " + w.Namespace + "/" + w.Name
}

// key identifies the workload in Live, whatever its version.
func (w Workload) key() string {
	return w.Kind.GVR.Group + "/" + w.Kind.Kind + "/" + w.Namespace + "/" + w.Name
}

// GVK is the workload's kind as Argo CD's API names it (the version may be
// empty: Argo CD finds an app's object by group, kind, namespace and name).
func (w Workload) GVK() schema.GroupVersionKind {
	return w.Kind.GVR.GroupVersion().WithKind(w.Kind.Kind)
}

// PodSelector selects the workload's pods, from its live object: the label
// KServe puts on an InferenceService's pods, spec.selector (Deployment,
// StatefulSet, ReplicaSet), or the selector string a scalable custom resource
// publishes for its /scale (status.selector; a LeaderWorkerSet's
// status.hpaPodSelector). Empty when the object says none: core mode then
// asks its /scale subresource.
func (w Workload) PodSelector(live *unstructured.Unstructured) string {
	if w.Kind == kube.InferenceServices {
		return "serving.kserve.io/inferenceservice=" + w.Name
	}
	if raw, ok, _ := unstructured.NestedMap(live.Object, "spec", "selector"); ok {
		var sel metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &sel); err == nil {
			if s, err := metav1.LabelSelectorAsSelector(&sel); err == nil && !s.Empty() {
				return s.String()
			}
		}
	}
	for _, path := range [][]string{{"status", "selector"}, {"status", "hpaPodSelector"}} {
		if s, _, _ := unstructured.NestedString(live.Object, path...); s != "" {
			if _, err := labels.Parse(s); err == nil {
				return s
			}
		}
	}
	return ""
}

// Workloads are the targets of the scale and pause gates among apps.
func Workloads(apps []platform.App) []Workload {
	var out []Workload
	for _, a := range apps {
		if w := WorkloadOf(a); w.Name != "" {
			out = append(out, w)
		}
	}
	return out
}
