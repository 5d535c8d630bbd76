package costgate

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Closing a sync gate in server mode: Argo CD's DeleteResource (orphan and
// force false: foreground propagation) of each object through its
// Application, then its resource tree followed until they are no longer in it.
//
// Argo CD's RBAC for DeleteResource is, since Argo CD 3, the fine-grained
// `applications, delete/<group>/<kind>/<namespace>/<name>, <project>/<app>`
// (the app's plain `delete` covers it only where argocd-cm sets
// server.rbac.disableApplicationFineGrainedRBACInheritance: "false"). Neither
// can be asked before deleting: account can-i takes only the plain actions,
// and where update has a harmless probe (an empty merge patch), a delete has
// none (DeleteResource has no dry run, and the RBAC check names the very
// object it then deletes). So Authorize asks Argo CD's RBAC what it can (get
// on the app, to read it and follow its tree), and the first delete is the
// check of the deletes: refused, it has deleted nothing, and the close stops
// there naming the policy; a refusal further on (policies that allow some
// kinds only) stops it too, saying what was deleted and how to bring it back.

// ResolveKinds implements Backend: Argo CD resolves kinds itself, so every kind
// is taken as served (a delete of one it does not serve finds nothing in the
// tree) and the resource is kubectl's guess, for messages.
func (b *ArgoCDBackend) ResolveKinds(_ context.Context, gvks []schema.GroupVersionKind) (map[schema.GroupVersionKind]kube.Kind, error) {
	out := make(map[schema.GroupVersionKind]kube.Kind, len(gvks))
	for _, gvk := range gvks {
		gvr, _ := meta.UnsafeGuessKindToResource(gvk)
		out[gvk] = kube.Kind{GVR: gvr, Kind: gvk.Kind, Namespaced: true}
	}
	return out, nil
}

// AppObject implements Backend: the live object, through the app's tree.
func (b *ArgoCDBackend) AppObject(ctx context.Context, o AppObject) (*unstructured.Unstructured, error) {
	return b.API.Resource(ctx, o.App, o.GVK(), o.Namespace, o.Name)
}

// DeleteAppObject implements Backend with DeleteResource, which takes no
// precondition (uid is not sent). A refusal names the policy it needs.
func (b *ArgoCDBackend) DeleteAppObject(ctx context.Context, o AppObject, _ types.UID) error {
	err := b.API.DeleteResource(ctx, o.App, o.GVK(), o.Namespace, o.Name)
	if argocd.IsPermissionDenied(err) {
		return fmt.Errorf("missing Argo CD permission (argocd-rbac-cm policy: p, <role>, ...): applications, delete/%s/%s/%s/%s, %s/%s (or delete/*): %w",
			o.Kind.GVR.Group, o.Kind.Kind, o.Namespace, o.Name, b.Project, o.App, err)
	}
	return err
}

// WatchAppObjects reads, at each change of the app's resource tree (and at
// WatchTree's rechecks: Argo CD writes the Application's status after the
// tree), the Application, the objects of objs the tree still holds and the
// pods in their namespaces.
func (b *ArgoCDBackend) WatchAppObjects(ctx context.Context, objs []AppObject, changed func(Undeploying) (bool, error)) error {
	if len(objs) == 0 {
		return nil
	}
	type group struct {
		gvk       schema.GroupVersionKind
		namespace string
		names     map[string]bool
	}
	var groups []*group
	byKind := map[string]*group{}
	var namespaces []string
	seenNS := map[string]bool{}
	for _, o := range objs {
		k := o.GVK().GroupKind().String() + " " + o.Namespace
		if byKind[k] == nil {
			byKind[k] = &group{gvk: o.GVK(), namespace: o.Namespace, names: map[string]bool{}}
			groups = append(groups, byKind[k])
		}
		byKind[k].names[o.Name] = true
		if o.Namespace != "" && !seenNS[o.Namespace] {
			seenNS[o.Namespace] = true
			namespaces = append(namespaces, o.Namespace)
		}
	}
	app := objs[0].App
	podGVK := kube.Pods.GVR.GroupVersion().WithKind(kube.Pods.Kind)
	return b.API.WatchTree(ctx, app, func() (bool, error) {
		liveApp, err := b.API.Application(ctx, app)
		if err != nil {
			return false, err
		}
		var left []*unstructured.Unstructured
		for _, g := range groups {
			live, err := b.API.ResourcesOf(ctx, app, g.gvk, g.namespace)
			if err != nil {
				return false, err
			}
			for _, o := range live {
				if g.names[o.GetName()] {
					left = append(left, o)
				}
			}
		}
		pods := kube.Snapshot{}
		for _, ns := range namespaces {
			live, err := b.API.ResourcesOf(ctx, app, podGVK, ns)
			if err != nil {
				return false, err
			}
			for _, p := range live {
				pods[p.GetNamespace()+"/"+p.GetName()] = p
			}
		}
		return changed(Undeploying{App: liveApp, Left: left, Pods: pods})
	})
}
