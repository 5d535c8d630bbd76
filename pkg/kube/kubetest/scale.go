package kubetest

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Kinds the fake's discovery serves beyond those the plugins know, for gates
// over any scalable workload: a LeaderWorkerSet, a custom resource with a
// /scale subresource (Model), and one without (Notebook).
var (
	LeaderWorkerSets = kube.Kind{GVR: schema.GroupVersionResource{Group: "leaderworkerset.x-k8s.io", Version: "v1", Resource: "leaderworkersets"}, Kind: "LeaderWorkerSet", Namespaced: true}
	Models           = kube.Kind{GVR: schema.GroupVersionResource{Group: "sandbox.aidev.io", Version: "v1alpha1", Resource: "models"}, Kind: "Model", Namespaced: true}
	Notebooks        = kube.Kind{GVR: schema.GroupVersionResource{Group: "sandbox.aidev.io", Version: "v1alpha1", Resource: "notebooks"}, Kind: "Notebook", Namespaced: true}
)

// scalable are the kinds whose /scale the fake serves.
var scalable = []kube.Kind{kube.Deployments, kube.StatefulSets, LeaderWorkerSets, Models}

// discoverable gives the fake client a RESTMapper over the fake's
// discovery (Served), deferred and memory-cached as kubectl's is.
func (f *Fake) discoverable() {
	disco := f.Typed.Discovery()
	f.Client.Mapper, f.Client.Discovery = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)), disco
}

// scale serves GET and merge PATCH of the /scale subresource over the
// tracked object: spec.replicas, and the selector from spec.selector (or
// status.selector), with the object's resourceVersion as the precondition,
// as the API server's scale subresource does.
func (f *Fake) scale(tracker k8stesting.ObjectTracker) k8stesting.ReactionFunc {
	return func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "scale" {
			return false, nil, nil
		}
		gvr, ns := action.GetResource(), action.GetNamespace()
		var name string
		var patch map[string]any
		switch a := action.(type) {
		case k8stesting.GetActionImpl:
			name = a.GetName()
		case k8stesting.PatchActionImpl:
			name = a.GetName()
			if err := utiljson.Unmarshal(a.GetPatch(), &patch); err != nil {
				return true, nil, apierrors.NewBadRequest(err.Error())
			}
		default:
			return false, nil, nil
		}
		if !isScalable(gvr) {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{}, "")
		}
		o, err := tracker.Get(gvr, ns, name)
		if err != nil {
			return true, nil, err
		}
		cur, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return true, nil, err
		}
		u := &unstructured.Unstructured{Object: cur}
		if patch != nil {
			if want, _, _ := unstructured.NestedString(patch, "metadata", "resourceVersion"); want != "" && want != u.GetResourceVersion() {
				return true, nil, apierrors.NewConflict(gvr.GroupResource(), name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
			}
			if replicas, ok, _ := unstructured.NestedInt64(patch, "spec", "replicas"); ok {
				if have, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); have != replicas {
					_ = unstructured.SetNestedField(u.Object, replicas, "spec", "replicas")
					f.stamp(u)
					if err := tracker.Update(gvr, u, ns); err != nil {
						return true, nil, err
					}
				}
			}
		}
		return true, scaleObject(u), nil
	}
}

func isScalable(gvr schema.GroupVersionResource) bool {
	for _, k := range scalable {
		if k.GVR == gvr {
			return true
		}
	}
	return false
}

func scaleObject(u *unstructured.Unstructured) *unstructured.Unstructured {
	replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	status, _, _ := unstructured.NestedInt64(u.Object, "status", "replicas")
	selector, _, _ := unstructured.NestedString(u.Object, "status", "selector")
	if m, ok, _ := unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels"); ok {
		selector = labels.SelectorFromSet(m).String()
	}
	s := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling/v1", "kind": "Scale",
		"spec":   map[string]any{"replicas": replicas},
		"status": map[string]any{"replicas": status, "selector": selector},
	}}
	s.SetName(u.GetName())
	s.SetNamespace(u.GetNamespace())
	s.SetResourceVersion(u.GetResourceVersion())
	return s
}
