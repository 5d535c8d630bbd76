package costgate

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Workload is the object a scale or pause gate acts on, and the Application
// that deploys it (server mode reaches objects only through their app).
type Workload struct {
	App       string
	Kind      kube.Kind
	Namespace string
	Name      string
}

// WorkloadOf resolves what a gate acts on: the one place where a gate's kind
// decides its target's kind. A sync gate has none (the zero Workload).
func WorkloadOf(app platform.App) Workload {
	t := app.Gate.Target
	if t == nil {
		return Workload{}
	}
	w := Workload{App: app.Name, Kind: kube.Deployments, Namespace: t.Namespace, Name: t.Name}
	if app.Gate.Kind == platform.GatePause {
		w.Kind = kube.InferenceServices
	}
	return w
}

// String reads "Deployment serving/raw-vllm".
func (w Workload) String() string { return w.Kind.Kind + " " + w.Namespace + "/" + w.Name }

// key identifies the workload in Live.
func (w Workload) key() string { return w.Kind.GVR.Resource + "/" + w.Namespace + "/" + w.Name }

// GVK is the workload's kind as Argo CD's API names it.
func (w Workload) GVK() schema.GroupVersionKind {
	return w.Kind.GVR.GroupVersion().WithKind(w.Kind.Kind)
}

// PodSelector selects the workload's pods, from its live object: a
// Deployment's matchLabels, or the label KServe puts on an InferenceService's pods.
func (w Workload) PodSelector(live *unstructured.Unstructured) string {
	if w.Kind == kube.InferenceServices {
		return "serving.kserve.io/inferenceservice=" + w.Name
	}
	m, _, _ := unstructured.NestedStringMap(live.Object, "spec", "selector", "matchLabels")
	return labels.SelectorFromSet(m).String()
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
