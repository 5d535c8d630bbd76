package costgate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// ArgoAPI is what the gates need of Argo CD's API in server mode, where a user
// has an Argo CD token and no Kubernetes credentials: the Applications, and
// each object through the Application that deploys it. A missing object and a
// resourceVersion conflict come back as the Kubernetes API's errors (apierrors),
// so both modes share one logic. pkg/argocd/server implements it.
type ArgoAPI interface {
	Applications(ctx context.Context) ([]*unstructured.Unstructured, error)
	Application(ctx context.Context, name string) (*unstructured.Unstructured, error)
	AnnotateApplication(ctx context.Context, name string, annotations map[string]any) error
	Resource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
	PatchResource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string, mergePatch []byte) error
	// ResourcesOf reads the live objects of one kind in the app's resource tree.
	ResourcesOf(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace string) ([]*unstructured.Unstructured, error)
	// WatchTree calls changed once, then each time the app's resource tree
	// changes, until changed says done, fails, or ctx ends.
	WatchTree(ctx context.Context, app string, changed func() (done bool, err error)) error
	// CanI asks Argo CD's RBAC (argocd account can-i ACTION RESOURCE OBJECT).
	CanI(ctx context.Context, resource, action, object string) (bool, error)
}

func gvk(k kube.Kind) schema.GroupVersionKind { return k.GVR.GroupVersion().WithKind(k.Kind) }

// get reads a gate's object: through the Kubernetes API, or through its app.
func (g *Gates) get(ctx context.Context, app platform.App, k kube.Kind, namespace, name string) (*unstructured.Unstructured, error) {
	if g.API != nil {
		return g.resourceAfterSync(ctx, app.Name, nil, k, namespace, name)
	}
	return g.Client.Resource(k, namespace).Get(ctx, name, getOptions)
}

// resourceAfterSync reads an object through its app. Argo CD's GetResource
// finds only what the application controller's resource tree holds, and the
// tree lags behind a sync on a busy controller: an object the app's last sync
// applied exists, so it is followed in the tree until it appears (bounded by
// ctx), never reported missing in between. liveApp is the Application when
// the caller has it (nil: read on a miss).
func (g *Gates) resourceAfterSync(ctx context.Context, app string, liveApp *unstructured.Unstructured, k kube.Kind, namespace, name string) (*unstructured.Unstructured, error) {
	o, err := g.API.Resource(ctx, app, gvk(k), namespace, name)
	if !apierrors.IsNotFound(err) {
		return o, err
	}
	if liveApp == nil {
		if liveApp, err = g.API.Application(ctx, app); err != nil {
			return nil, err
		}
	}
	if !AppliedByLastSync(liveApp, gvk(k), namespace, name) {
		return nil, apierrors.NewNotFound(k.GVR.GroupResource(), name)
	}
	werr := g.API.WatchTree(ctx, app, func() (bool, error) {
		o, err = g.API.Resource(ctx, app, gvk(k), namespace, name)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return true, err
	})
	if werr != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%s %s/%s, applied by %s's last sync, is not in Argo CD's resource tree of %s yet: %w", k.Kind, namespace, name, app, app, ctx.Err())
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

// patch merge-patches a gate's object.
func (g *Gates) patch(ctx context.Context, app platform.App, k kube.Kind, namespace, name string, patch []byte) error {
	if g.API != nil {
		return g.API.PatchResource(ctx, app.Name, gvk(k), namespace, name, patch)
	}
	_, err := g.Client.Resource(k, namespace).Patch(ctx, name, mergePatch, patch, patchOptions)
	return err
}

// readLiveAPI is ReadLive through Argo CD: the Applications, and each gate's
// target through its app (the API reaches objects only through their app).
func (g *Gates) readLiveAPI(ctx context.Context, gates []platform.App) (Live, error) {
	live := Live{Apps: map[string]*unstructured.Unstructured{}, Deployments: map[string]*unstructured.Unstructured{}, InferenceServices: map[string]*unstructured.Unstructured{}}
	apps, err := g.API.Applications(ctx)
	if err != nil {
		return live, err
	}
	for _, a := range apps {
		live.Apps[a.GetName()] = a
	}
	for _, a := range gates {
		t := a.Gate.Target
		if t == nil || live.Apps[a.Name] == nil {
			continue
		}
		k, into := kube.Deployments, live.Deployments
		if a.Gate.Kind == platform.GatePause {
			k, into = kube.InferenceServices, live.InferenceServices
		}
		o, err := g.resourceAfterSync(ctx, a.Name, live.Apps[a.Name], k, t.Namespace, t.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return live, err
		}
		into[t.Namespace+"/"+t.Name] = o
	}
	return live, nil
}

// waitTargetAPI is waitTarget through Argo CD: the target and its pods read
// again at each change of the app's resource tree.
func (g *Gates) waitTargetAPI(ctx context.Context, app platform.App, progress func(string), open bool) error {
	t := *app.Gate.Target
	kind := kube.Deployments
	if app.Gate.Kind == platform.GatePause {
		kind = kube.InferenceServices
	}
	last := ""
	say := func(msg string) {
		if msg != last && progress != nil {
			progress(msg)
		}
		last = msg
	}
	err := g.API.WatchTree(ctx, app.Name, func() (bool, error) {
		target, err := g.API.Resource(ctx, app.Name, gvk(kind), t.Namespace, t.Name)
		if apierrors.IsNotFound(err) {
			if !open {
				return true, nil
			}
			say(fmt.Sprintf("%s does not exist yet", t))
			return false, nil
		}
		if err != nil {
			return false, err
		}
		selector := "serving.kserve.io/inferenceservice=" + t.Name
		if kind == kube.Deployments {
			selector = deploymentSelector(target)
		}
		sel, err := labels.Parse(selector)
		if err != nil {
			return false, err
		}
		all, err := g.API.ResourcesOf(ctx, app.Name, gvk(kube.Pods), t.Namespace)
		if err != nil {
			return false, err
		}
		pods := kube.Snapshot{}
		for _, p := range all {
			if sel.Matches(labels.Set(p.GetLabels())) {
				pods[p.GetName()] = p
			}
		}
		done, msg, err := evaluate(app, target, pods, open)
		if err == nil {
			say(msg)
		}
		return done, err
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s: %w (last: %s)", app.Name, ctx.Err(), last)
	}
	return err
}

// scaledObjectsAPI reads the KEDA ScaledObjects the gate's app deploys.
func (g *Gates) scaledObjectsAPI(ctx context.Context, app platform.App) ([]*unstructured.Unstructured, error) {
	return g.API.ResourcesOf(ctx, app.Name, gvk(ScaledObjects), app.Gate.Target.Namespace)
}

// authorizeAPI asks Argo CD's RBAC, once per distinct need, for what perms
// need: reading a gate's objects is `applications, get`, a sync `applications,
// sync` (both asked with account can-i), and writing an object the app deploys
// the update Argo CD enforces on PatchResource: since Argo CD 3 a fine-grained
// update/<group>/<kind>/<namespace>/<name>, which can-i cannot be asked about.
// That one is asked with an empty merge patch: Argo CD authorizes it exactly as
// the real one, and the API server changes nothing. The error names each
// missing policy the way argocd-rbac-cm writes it.
func (g *Gates) authorizeAPI(ctx context.Context, perms []Permission) error {
	type need struct {
		action, object string
		target         Permission // for an update: the object to probe
	}
	var needs []need
	seen := map[string]bool{}
	for _, p := range perms {
		if p.App == "" {
			continue
		}
		n := need{action: "get", object: g.Project + "/" + p.App}
		switch {
		case p.Object.GVR == kube.Applications.GVR && p.Verb == "patch":
			n.action = "sync"
		case p.Verb == "patch":
			n.action = fmt.Sprintf("update/%s/%s/%s/%s", p.Object.GVR.Group, p.Object.Kind, p.Namespace, p.Name)
			n.target = p
		}
		if key := n.action + " " + n.object; !seen[key] {
			seen[key] = true
			needs = append(needs, n)
		}
	}
	var missing []string
	for _, n := range needs {
		var ok bool
		var err error
		if n.target.App != "" {
			err = g.API.PatchResource(ctx, n.target.App, gvk(n.target.Object), n.target.Namespace, n.target.Name, []byte("{}"))
			ok = err == nil || apierrors.IsNotFound(err) // not deployed yet: RBAC let it through
			if IsPermissionDenied(err) {
				ok, err = false, nil
			}
		} else {
			ok, err = g.API.CanI(ctx, "applications", n.action, n.object)
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

// ErrPermissionDenied is what an ArgoAPI returns, wrapped, when Argo CD's RBAC
// refuses a request.
var ErrPermissionDenied = errors.New("permission denied by Argo CD RBAC")

// IsPermissionDenied says whether err is Argo CD's RBAC refusing a request.
func IsPermissionDenied(err error) bool { return errors.Is(err, ErrPermissionDenied) }
