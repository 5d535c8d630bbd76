package costgate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// ArgoAPI is what server mode needs of Argo CD's API, where a user has an
// Argo CD token and no Kubernetes credentials: the Applications, each object
// through the Application that deploys it, sync and RBAC. A missing object
// and a resourceVersion conflict come back as apierrors, a refusal of Argo
// CD's RBAC wraps argocd.ErrPermissionDenied. pkg/argocd/grpcclient's Client
// implements it.
type ArgoAPI interface {
	Applications(ctx context.Context) ([]*unstructured.Unstructured, error)
	Application(ctx context.Context, name string) (*unstructured.Unstructured, error)
	AnnotateApplication(ctx context.Context, name string, annotations map[string]any) error
	// UserInfo is the user the token belongs to (argocd account get-user-info).
	UserInfo(ctx context.Context) (string, error)
	Resource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
	PatchResource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string, mergePatch []byte) error
	// ResourcesOf reads the live objects of one kind in the app's resource tree.
	ResourcesOf(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace string) ([]*unstructured.Unstructured, error)
	// WatchTree calls changed once, then each time the app's resource tree
	// changes, until changed says done, fails, or ctx ends.
	WatchTree(ctx context.Context, app string, changed func() (done bool, err error)) error
	// CanI asks Argo CD's RBAC (argocd account can-i ACTION RESOURCE OBJECT).
	CanI(ctx context.Context, resource, action, object string) (bool, error)
	Sync(ctx context.Context, app string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error)
	// DeleteResource deletes an object app deploys, foreground (Argo CD RBAC:
	// applications, delete/<group>/<kind>/<namespace>/<name>); NotFound when
	// the app's tree does not hold it. See undeploy_argocd.go.
	DeleteResource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string) error
}

// ArgoCDBackend reaches the gates through Argo CD's API (server mode), under
// Argo CD's RBAC for Project's apps.
type ArgoCDBackend struct {
	API     ArgoAPI
	Project string
}

// Mode implements Backend.
func (b *ArgoCDBackend) Mode() string { return "server" }

// Live reads the Applications, and each workload through its app (the API
// reaches objects only through their app).
func (b *ArgoCDBackend) Live(ctx context.Context, workloads []Workload) (Live, error) {
	live := NewLive()
	apps, err := b.API.Applications(ctx)
	if err != nil {
		return live, err
	}
	for _, a := range apps {
		live.Apps[a.GetName()] = a
	}
	for _, w := range workloads {
		if live.Apps[w.App] == nil {
			continue
		}
		o, err := b.afterSync(ctx, w, live.Apps[w.App])
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return live, err
		}
		live.Workloads[w.key()] = o
	}
	return live, nil
}

// Application implements Backend.
func (b *ArgoCDBackend) Application(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	return b.API.Application(ctx, name)
}

// AnnotateApplication implements Backend. Argo CD's Patch of an Application
// re-reads it and retries on a conflict itself, so the resourceVersion
// cannot be a precondition here: the last writer of an annotation wins.
func (b *ArgoCDBackend) AnnotateApplication(ctx context.Context, name string, annotations map[string]any, _ string) error {
	return b.API.AnnotateApplication(ctx, name, annotations)
}

// Scale implements Backend: Argo CD's API reaches no subresource, so the
// replicas are the object's spec.replicas (where Deployments, StatefulSets,
// LeaderWorkerSets and most scalable custom resources keep them).
func (b *ArgoCDBackend) Scale(ctx context.Context, w Workload) (kube.Scale, error) {
	o, err := b.afterSync(ctx, w, nil)
	if err != nil {
		return kube.Scale{}, err
	}
	replicas, found, err := unstructured.NestedInt64(o.Object, "spec", "replicas")
	if err != nil || !found {
		return kube.Scale{}, fmt.Errorf("%s has no spec.replicas: server mode scales through Argo CD's PatchResource, which writes spec.replicas (use core mode, whose /scale knows the kind's own path)", w)
	}
	return kube.Scale{Replicas: replicas, Selector: w.PodSelector(o), ResourceVersion: o.GetResourceVersion()}, nil
}

// PatchScale implements Backend with a merge patch of spec.replicas.
func (b *ArgoCDBackend) PatchScale(ctx context.Context, w Workload, replicas int64, resourceVersion string) error {
	patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"spec":{"replicas":%d}}`, resourceVersion, replicas)
	return b.API.PatchResource(ctx, w.App, w.GVK(), w.Namespace, w.Name, []byte(patch))
}

// WhoAmI implements Backend with Argo CD's userinfo.
func (b *ArgoCDBackend) WhoAmI(ctx context.Context) (string, error) {
	return b.API.UserInfo(ctx)
}

// Workload implements Backend.
func (b *ArgoCDBackend) Workload(ctx context.Context, w Workload) (*unstructured.Unstructured, error) {
	return b.afterSync(ctx, w, nil)
}

// afterSync reads a workload through its app. Argo CD's GetResource finds
// only what the application controller's resource tree holds, and the tree
// lags behind a sync on a busy controller: an object the app's last sync
// applied exists, so it is followed in the tree until it appears (bounded by
// ctx), never reported missing in between. liveApp is the Application when
// the caller has it (nil: read on a miss).
func (b *ArgoCDBackend) afterSync(ctx context.Context, w Workload, liveApp *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	o, err := b.API.Resource(ctx, w.App, w.GVK(), w.Namespace, w.Name)
	if !apierrors.IsNotFound(err) {
		return o, err
	}
	if liveApp == nil {
		if liveApp, err = b.API.Application(ctx, w.App); err != nil {
			return nil, err
		}
	}
	if !AppliedByLastSync(liveApp, w.GVK(), w.Namespace, w.Name) {
		return nil, apierrors.NewNotFound(w.Kind.GVR.GroupResource(), w.Name)
	}
	werr := b.API.WatchTree(ctx, w.App, func() (bool, error) {
		o, err = b.API.Resource(ctx, w.App, w.GVK(), w.Namespace, w.Name)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return true, err
	})
	if werr != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%s, applied by %s's last sync, is not in Argo CD's resource tree of %s yet: %w", w, w.App, w.App, ctx.Err())
	}
	if werr != nil {
		return nil, werr
	}
	return o, err
}

// AppliedByLastSync says whether the Application's last operation succeeded
// and applied the object (a syncResult resource with status Synced that is no hook).
func AppliedByLastSync(liveApp *unstructured.Unstructured, gvk schema.GroupVersionKind, namespace, name string) bool {
	if phase, _, _ := unstructured.NestedString(liveApp.Object, "status", "operationState", "phase"); phase != "Succeeded" {
		return false
	}
	resources, _, _ := unstructured.NestedSlice(liveApp.Object, "status", "operationState", "syncResult", "resources")
	for _, r := range resources {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		if str("group") == gvk.Group && str("kind") == gvk.Kind && str("namespace") == namespace && str("name") == name &&
			str("status") == "Synced" && str("hookType") == "" {
			return true
		}
	}
	return false
}

// PatchWorkload implements Backend.
func (b *ArgoCDBackend) PatchWorkload(ctx context.Context, w Workload, mergePatch []byte) error {
	return b.API.PatchResource(ctx, w.App, w.GVK(), w.Namespace, w.Name, mergePatch)
}

// Beside reads the objects of kind k the workload's app deploys.
func (b *ArgoCDBackend) Beside(ctx context.Context, w Workload, k kube.Kind) ([]*unstructured.Unstructured, error) {
	return b.API.ResourcesOf(ctx, w.App, k.GVR.GroupVersion().WithKind(k.Kind), w.Namespace)
}

// WatchWorkload reads the workload and its pods again at each change of the
// app's resource tree.
func (b *ArgoCDBackend) WatchWorkload(ctx context.Context, w Workload, changed func(*unstructured.Unstructured, kube.Snapshot) (bool, error)) error {
	return b.API.WatchTree(ctx, w.App, func() (bool, error) {
		live, err := b.API.Resource(ctx, w.App, w.GVK(), w.Namespace, w.Name)
		if apierrors.IsNotFound(err) {
			return changed(nil, nil)
		}
		if err != nil {
			return false, err
		}
		selector := w.PodSelector(live)
		if selector == "" { // it tells no pods: its replicas are all there is to wait on
			return changed(live, kube.Snapshot{})
		}
		sel, err := labels.Parse(selector)
		if err != nil {
			return false, err
		}
		all, err := b.API.ResourcesOf(ctx, w.App, kube.Pods.GVR.GroupVersion().WithKind(kube.Pods.Kind), w.Namespace)
		if err != nil {
			return false, err
		}
		pods := kube.Snapshot{}
		for _, p := range all {
			if sel.Matches(labels.Set(p.GetLabels())) {
				pods[p.GetName()] = p
			}
		}
		return changed(live, pods)
	})
}

// Sync implements Backend through Argo CD's sync call.
func (b *ArgoCDBackend) Sync(ctx context.Context, app string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	return b.API.Sync(ctx, app, progress)
}

// Authorize asks Argo CD's RBAC, once per distinct need, for what perms
// need: reading a gate's objects is `applications, get`, a sync `applications,
// sync` (both asked with account can-i), and writing an object the app deploys
// the update Argo CD enforces on PatchResource: since Argo CD 3 a fine-grained
// update/<group>/<kind>/<namespace>/<name>, which can-i cannot be asked about.
// That one is asked with an empty merge patch: Argo CD authorizes it exactly as
// the real one, and the API server changes nothing. The error names each
// missing policy the way argocd-rbac-cm writes it.
func (b *ArgoCDBackend) Authorize(ctx context.Context, perms []Permission) error {
	var missing []string
	for _, n := range argoNeeds(b.Project, perms) {
		if strings.HasPrefix(n.action, "delete/") {
			continue // no harmless way to ask: the first delete is the check (undeploy_argocd.go)
		}
		var ok bool
		var err error
		if n.probe.App != "" {
			w := Workload{App: n.probe.App, Kind: n.probe.Object, Namespace: n.probe.Namespace, Name: n.probe.Name}
			err = b.PatchWorkload(ctx, w, []byte("{}"))
			ok = err == nil || apierrors.IsNotFound(err) // not deployed yet: RBAC let it through
			if argocd.IsPermissionDenied(err) {
				ok, err = false, nil
			}
		} else {
			ok, err = b.API.CanI(ctx, "applications", n.action, n.object)
		}
		if err != nil && !ok {
			return fmt.Errorf("cannot check the Argo CD permission applications, %s, %s: %w", n.action, n.object, err)
		}
		if !ok {
			missing = append(missing, "applications, "+n.action+", "+n.object)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("missing Argo CD permission (argocd-rbac-cm policy: p, <role>, ...): %s", strings.Join(missing, "; "))
}

// argoNeed is one Argo CD policy a verb needs; probe is the object an
// update is for, asked with an empty patch.
type argoNeed struct {
	action, object string
	probe          Permission
}

// argoNeeds turns Kubernetes requests into the distinct Argo CD policies
// that allow them through the API.
func argoNeeds(project string, perms []Permission) []argoNeed {
	var needs []argoNeed
	seen := map[string]bool{}
	for _, p := range perms {
		if p.App == "" {
			continue
		}
		n := argoNeed{action: "get", object: project + "/" + p.App}
		switch {
		case p.Object.GVR == kube.Applications.GVR && p.Verb == "patch":
			n.action = p.ArgoAction
		case p.Verb == "patch":
			n.action = fmt.Sprintf("update/%s/%s/%s/%s", p.Object.GVR.Group, p.Object.Kind, p.Namespace, p.Name)
			n.probe = p
		case p.Verb == "delete": // cannot be asked before deleting: see undeploy_argocd.go
			n.action = fmt.Sprintf("delete/%s/%s/%s/%s", p.Object.GVR.Group, p.Object.Kind, p.Namespace, p.Name)
		}
		if key := n.action + " " + n.object; !seen[key] {
			seen[key] = true
			needs = append(needs, n)
		}
	}
	return needs
}
