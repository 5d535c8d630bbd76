package costgate

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// What down of a sync gate needs, declared from the repository alone: for
// smoke doctor to ask, deploy/rbac and deploy/argocd-rbac to grant.

// clusterScoped are well-known kinds without a namespace, for the declarations
// made from the repository alone (DeployedBy), where no discovery is asked.
var clusterScoped = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"PersistentVolume": true, "StorageClass": true, "IngressClass": true, "PriorityClass": true, "RuntimeClass": true,
	"CSIDriver": true, "VolumeSnapshotClass": true, "MutatingWebhookConfiguration": true, "ValidatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true, "APIService": true, "ClusterIssuer": true,
	"ClusterSecretStore": true, "ClusterExternalSecret": true, "GatewayClass": true, "ClusterPolicy": true, "Node": true,
}

// DeployedBy lists, from this repository alone, what closing a sync gate
// deletes: the objects its Application deploys from the repository's folders
// (platform.Env.Deployed, rendered with the config), hooks and what a close
// keeps left out, each kind's resource named as discovery usually names it.
// It is for the declarations of what down needs (CloseNeeds,
// ArgoClosePolicies); a close itself reads the live Application.
func DeployedBy(env *platform.Env, app platform.App) []AppObject {
	if app.Gate == nil || app.Gate.Kind != platform.GateSync {
		return nil
	}
	var entries []listed
	for _, o := range env.Deployed(app) {
		ann := o.GetAnnotations()
		if ann["argocd.argoproj.io/hook"] != "" || ann["helm.sh/hook"] != "" {
			continue
		}
		gv, err := schema.ParseGroupVersion(o.GetAPIVersion())
		if err != nil {
			continue
		}
		ns := o.Namespace
		if clusterScoped[o.GetKind()] {
			ns = ""
		}
		if keptKind(gv.Group, o.GetKind(), ns == "") != "" || keptObject(nil, o.Unstructured) != "" {
			continue
		}
		wave, _ := strconv.ParseInt(strings.TrimSpace(ann["argocd.argoproj.io/sync-wave"]), 10, 64)
		entries = append(entries, listed{group: gv.Group, version: gv.Version, kind: o.GetKind(), namespace: ns, name: o.GetName(), wave: wave})
	}
	sortForDeletion(entries)
	out := make([]AppObject, 0, len(entries))
	for _, l := range entries {
		gvr, _ := meta.UnsafeGuessKindToResource(l.gvk())
		out = append(out, AppObject{App: app.Name, Kind: kube.Kind{GVR: gvr, Kind: l.kind, Namespaced: true}, Namespace: l.namespace, Name: l.name, Wave: l.wave})
	}
	return out
}

// CloseNeeds is what down of the sync gates among gates sends to the
// Kubernetes API (core mode), for the objects each deploys from this
// repository (DeployedBy): the same permissions down checks before its first
// delete, for smoke doctor to ask and deploy/rbac to grant.
func CloseNeeds(env *platform.Env, gates []platform.App) []access.Need {
	var reqs []access.Request
	for _, a := range gates {
		if a.Gate != nil && a.Gate.Kind == platform.GateSync {
			reqs = append(reqs, requestsOf(CloseSyncPermissions(env.Config.Namespace, a, DeployedBy(env, a), true))...)
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	return []access.Need{{Command: "costgate down (sync gates)", Requests: access.Unique(reqs)}}
}

// ArgoClosePolicies is what down of a sync gate needs of Argo CD's RBAC in
// server mode, as argocd-rbac-cm writes it, for the objects it deploys from
// this repository: get on the app, and the fine-grained delete of each object
// ("applications, delete/apps/Deployment/inference-demo/web, platform/inference-demo").
func ArgoClosePolicies(env *platform.Env, app platform.App) []string {
	if app.Gate == nil || app.Gate.Kind != platform.GateSync {
		return nil // a scale or pause gate closes as it opens: ArgoPolicies
	}
	var out []string
	for _, n := range argoNeeds(env.Descriptor.Project, CloseSyncPermissions(env.Config.Namespace, app, DeployedBy(env, app), true)) {
		out = append(out, "applications, "+n.action+", "+n.object)
	}
	return out
}
