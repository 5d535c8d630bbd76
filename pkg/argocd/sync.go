package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Syncer starts a manual sync of an Application and reports its result. Core mode
// (the Kubernetes API, like `argocd --core`) and server mode (Argo CD's API, for
// SSO users without Kubernetes write access) both implement it.
type Syncer interface {
	// Sync syncs app and waits for the operation to finish; progress, if not nil,
	// sees the app's state as it changes.
	Sync(ctx context.Context, app string, progress func(AppStatus)) (*SyncResult, error)
}

// SyncResult is what a finished sync operation reports.
type SyncResult struct {
	App       string           `json:"app"`
	Phase     string           `json:"phase"`
	Message   string           `json:"message"`
	Revision  string           `json:"revision,omitempty"`
	Sync      string           `json:"sync"`
	Health    string           `json:"health"`
	Resources []ResourceResult `json:"resources"`
}

// ResourceResult is one resource the sync touched.
type ResourceResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message,omitempty"`
}

// Succeeded says whether the operation ended well.
func (r *SyncResult) Succeeded() bool { return r.Phase == "Succeeded" }

// Core syncs through the Kubernetes API.
type Core struct {
	Client    *kube.Client
	Namespace string // Argo CD's
	Initiator string // recorded as operation.initiatedBy.username
}

// refreshAnnotation asks the application-controller for a refresh.
const refreshAnnotation = "argocd.argoproj.io/refresh"

// Sync sets .operation the way `argocd --core app sync` does: the spec's revision,
// syncOptions and retry copied in (a manual operation ignores the spec's), the old
// operationState cleared in the same patch (Application has no status
// subresource), guarded by resourceVersion so a concurrent operation is not
// overwritten. Then it watches the app until the operation finishes and, because
// health read right after a sync can be stale, asks for a hard refresh and waits
// for a reconciliation later than the operation's end.
func (c *Core) Sync(ctx context.Context, name string, progress func(AppStatus)) (*SyncResult, error) {
	apps := c.Client.Resource(kube.Applications, c.Namespace)
	app, err := apps.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("Application %s/%s does not exist: is the profile that holds it applied?", c.Namespace, name)
	}
	if err != nil {
		return nil, c.Client.Explain(err, kube.Applications)
	}
	if op, found, _ := unstructured.NestedMap(app.Object, "operation"); found {
		by, _, _ := unstructured.NestedString(op, "initiatedBy", "username")
		return nil, fmt.Errorf("an operation is already running on %s (initiated by %q): wait for it, or terminate it with argocd app terminate-op", name, by)
	}
	patch, err := OperationPatch(app, c.Initiator)
	if err != nil {
		return nil, err
	}
	started, err := apps.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: c.Initiator})
	if apierrors.IsConflict(err) {
		return nil, fmt.Errorf("%s changed while the sync was being requested (another operation?): try again", name)
	}
	if err != nil {
		return nil, fmt.Errorf("requesting the sync of %s: %w", name, c.Client.Explain(err, kube.Applications))
	}
	startedAt := time.Now().Add(-time.Second).Truncate(time.Second)

	var result *SyncResult
	var finishedAt time.Time
	refreshed := false
	w := c.Client.Watch(ctx, kube.Applications, c.Namespace, kube.Named(name))
	for snap := range w.C {
		app, ok := snap[name]
		if !ok {
			return nil, fmt.Errorf("Application %s was deleted during the sync", name)
		}
		if app.GetResourceVersion() == started.GetResourceVersion() {
			continue // our own patch, before the controller picked it up
		}
		st := StatusOf(app)
		if progress != nil {
			progress(st)
		}
		if result == nil {
			r, at, done := Finished(app, startedAt)
			if !done {
				continue
			}
			result, finishedAt = r, at
		}
		if !refreshed {
			hard := fmt.Sprintf(`{"metadata":{"annotations":{%q:"hard"}}}`, refreshAnnotation)
			if _, err := apps.Patch(ctx, name, types.MergePatchType, []byte(hard), metav1.PatchOptions{FieldManager: c.Initiator}); err != nil {
				return nil, c.Client.Explain(err, kube.Applications)
			}
			refreshed = true
			continue
		}
		if _, pending := app.GetAnnotations()[refreshAnnotation]; pending || st.ReconciledAt.Before(finishedAt) {
			continue
		}
		result.Sync, result.Health = st.Sync, st.Health
		return result, nil
	}
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("watching the sync of %s: %w", name, err)
	}
	if result != nil {
		return result, fmt.Errorf("sync of %s finished (%s) but no reconciliation after it arrived in time: health unknown", name, result.Phase)
	}
	return nil, fmt.Errorf("sync of %s: %w", name, ctx.Err())
}

// OperationPatch is the merge patch that starts a sync of app, as `argocd --core`
// builds it: revision, syncOptions and retry from the spec, initiatedBy, the last
// operationState cleared, and the resourceVersion as a precondition.
func OperationPatch(app *unstructured.Unstructured, initiator string) ([]byte, error) {
	revision, _, _ := unstructured.NestedString(app.Object, "spec", "source", "targetRevision")
	sync := map[string]any{}
	if revision != "" {
		sync["revision"] = revision
	}
	if opts, found, _ := unstructured.NestedStringSlice(app.Object, "spec", "syncPolicy", "syncOptions"); found {
		sync["syncOptions"] = opts
	}
	op := map[string]any{"initiatedBy": map[string]any{"username": initiator}, "sync": sync}
	if retry, found, _ := unstructured.NestedMap(app.Object, "spec", "syncPolicy", "retry"); found {
		op["retry"] = retry
	}
	return json.Marshal(map[string]any{
		"metadata":  map[string]any{"resourceVersion": app.GetResourceVersion()},
		"operation": op,
		"status":    map[string]any{"operationState": nil},
	})
}

// Finished reads a terminal operationState that started after startedAt (so the
// previous operation's result is never taken for this one's).
func Finished(app *unstructured.Unstructured, startedAt time.Time) (*SyncResult, time.Time, bool) {
	state, found, _ := unstructured.NestedMap(app.Object, "status", "operationState")
	if !found {
		return nil, time.Time{}, false
	}
	phase, _ := state["phase"].(string)
	start, _ := time.Parse(time.RFC3339, fmt.Sprint(state["startedAt"]))
	end, err := time.Parse(time.RFC3339, fmt.Sprint(state["finishedAt"]))
	if err != nil || start.Before(startedAt) {
		return nil, time.Time{}, false // running, or the previous operation's result
	}
	switch phase {
	case "Succeeded", "Failed", "Error":
	default:
		return nil, time.Time{}, false
	}
	r := &SyncResult{App: app.GetName(), Phase: phase, Resources: []ResourceResult{}}
	r.Message, _ = state["message"].(string)
	r.Revision, _, _ = unstructured.NestedString(state, "syncResult", "revision")
	resources, _, _ := unstructured.NestedSlice(state, "syncResult", "resources")
	for _, res := range resources {
		m, _ := res.(map[string]any)
		rr := ResourceResult{}
		rr.Kind, _ = m["kind"].(string)
		rr.Namespace, _ = m["namespace"].(string)
		rr.Name, _ = m["name"].(string)
		rr.Status, _ = m["status"].(string)
		rr.Message, _ = m["message"].(string)
		r.Resources = append(r.Resources, rr)
	}
	return r, end, true
}
