package kubetest

import (
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

func kind(group, version, resource, k string, namespaced bool) kube.Kind {
	return kube.Kind{GVR: schema.GroupVersionResource{Group: group, Version: version, Resource: resource}, Kind: k, Namespaced: namespaced}
}

// Served are the kinds the fake serves: the dynamic fake lists and watches
// them, and its discovery names them (what a RESTMapper over it resolves).
var Served = []kube.Kind{
	kube.AppProjects, kube.ApplicationSets, kube.Applications, kube.Deployments, kube.StatefulSets, kube.HPAs,
	kube.InferenceServices, kube.ConfigMaps, kube.Pods, LeaderWorkerSets, Models, Notebooks,
	{GVR: ScaledObjects, Kind: "ScaledObject", Namespaced: true},
	kind("", "v1", "services", "Service", true),
	kind("", "v1", "secrets", "Secret", true),
	kind("", "v1", "serviceaccounts", "ServiceAccount", true),
	kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true),
	kind("", "v1", "namespaces", "Namespace", false),
	kind("apps", "v1", "replicasets", "ReplicaSet", true),
	kind("batch", "v1", "jobs", "Job", true),
	kind("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
	kind("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
	kind("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", true),
	kind("external-secrets.io", "v1", "externalsecrets", "ExternalSecret", true),
	kind("external-secrets.io", "v1", "clustersecretstores", "ClusterSecretStore", false),
	kind("external-secrets.io", "v1", "secretstores", "SecretStore", true),
}

// discoveryOf is what the API server's discovery says of kinds, with
// "<resource>/scale" for the scalable ones.
func discoveryOf(kinds []kube.Kind) []*metav1.APIResourceList {
	byGV := map[string]*metav1.APIResourceList{}
	for _, k := range kinds {
		gv := k.GVR.GroupVersion().String()
		if byGV[gv] == nil {
			byGV[gv] = &metav1.APIResourceList{GroupVersion: gv}
		}
		byGV[gv].APIResources = append(byGV[gv].APIResources, metav1.APIResource{
			Name: k.GVR.Resource, Kind: k.Kind, Namespaced: k.Namespaced,
			Verbs: metav1.Verbs{"get", "list", "watch", "create", "update", "patch", "delete"},
		})
		if isScalable(k.GVR) {
			byGV[gv].APIResources = append(byGV[gv].APIResources, metav1.APIResource{
				Name: k.GVR.Resource + "/scale", Kind: "Scale", Group: "autoscaling", Version: "v1", Namespaced: k.Namespaced,
				Verbs: metav1.Verbs{"get", "patch", "update"},
			})
		}
	}
	out := make([]*metav1.APIResourceList, 0, len(byGV))
	for _, l := range byGV {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GroupVersion < out[j].GroupVersion })
	return out
}

// Foreground makes deletes with foreground propagation behave as the API
// server and the garbage collector do: the object stays, with a
// deletionTimestamp and the foregroundDeletion finalizer, until the test
// removes it (Dynamic.Tracker().Delete, the collector's last step). A UID
// precondition that does not match is a 409 Conflict, as on a real server.
func (f *Fake) Foreground() {
	tracker := f.Dynamic.Tracker()
	f.Dynamic.PrependReactor("delete", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		a, ok := action.(k8stesting.DeleteActionImpl)
		if !ok || a.GetSubresource() != "" {
			return false, nil, nil
		}
		obj, err := tracker.Get(a.GetResource(), a.GetNamespace(), a.GetName())
		if err != nil {
			return true, nil, err
		}
		u := obj.(*unstructured.Unstructured).DeepCopy()
		if pc := a.DeleteOptions.Preconditions; pc != nil && pc.UID != nil && *pc.UID != u.GetUID() {
			return true, nil, apierrors.NewConflict(a.GetResource().GroupResource(), a.GetName(),
				errPrecondition("UID in precondition: "+string(*pc.UID)+", UID in object meta: "+string(u.GetUID())))
		}
		if p := a.DeleteOptions.PropagationPolicy; p == nil || *p != metav1.DeletePropagationForeground || len(a.DeleteOptions.DryRun) > 0 {
			return false, nil, nil
		}
		if u.GetDeletionTimestamp() == nil {
			at := metav1.NewTime(deletedAt)
			u.SetDeletionTimestamp(&at)
			u.SetFinalizers(append(u.GetFinalizers(), metav1.FinalizerDeleteDependents))
			f.stamp(u)
			if err := tracker.Update(a.GetResource(), u, a.GetNamespace()); err != nil {
				return true, nil, err
			}
		}
		return true, u, nil
	})
}

// deletedAt is the deletionTimestamp Foreground gives (a fixed time: golden files hold it).
var deletedAt = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

type errPrecondition string

func (e errPrecondition) Error() string { return "Precondition failed: " + string(e) }
