package argocd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

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
// overwritten (one of the same initiator, left by an interrupted run, is waited
// for instead). Then it watches the app until the operation finishes and,
// because health read right after a sync can be stale, waits for a
// reconciliation observed after the operation (see ReconciledAfter), asking for
// a hard refresh so that one comes soon.
func (c *Core) Sync(ctx context.Context, name string, progress func(AppStatus)) (*SyncResult, error) {
	apps := c.Client.Resource(kube.Applications, c.Namespace)
	started, resumed, err := c.requestSync(ctx, name)
	if err != nil {
		return nil, err
	}
	requested := time.Now()
	startedAt := requested.Add(-time.Second).Truncate(time.Second)
	ownRV := started.GetResourceVersion()
	if resumed {
		// Our request cleared the last operationState: any there now is this
		// operation's, however long ago it started.
		startedAt, ownRV = time.Time{}, ""
	}

	var result *SyncResult
	var finishedAt time.Time
	pickedUp := false // a controller wrote an operationState for this operation
	refreshRV := ""   // the resourceVersion our refresh request wrote
	w := c.Client.Watch(ctx, kube.Applications, c.Namespace, kube.Named(name))
	for snap := range w.C {
		app, ok := snap[name]
		if !ok {
			return nil, fmt.Errorf("Application %s was deleted during the sync", name)
		}
		if app.GetResourceVersion() == ownRV {
			continue // our own patch, before the controller picked it up
		}
		if _, found, _ := unstructured.NestedMap(app.Object, "status", "operationState"); found {
			pickedUp = true // our patch cleared the last one
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
		if ReconciledAfter(app, finishedAt, refreshRV) {
			result.Sync, result.Health = st.Sync, st.Health
			return result, nil
		}
		if refreshRV == "" {
			hard := fmt.Sprintf(`{"metadata":{"annotations":{%q:"hard"}}}`, refreshAnnotation)
			refreshed, err := apps.Patch(ctx, name, types.MergePatchType, []byte(hard), metav1.PatchOptions{FieldManager: c.Initiator})
			if err != nil {
				return nil, fmt.Errorf("requesting a refresh of %s after its sync: %w", name, c.Client.Explain(err, kube.Applications))
			}
			refreshRV = refreshed.GetResourceVersion()
		}
	}
	if err := w.Err(); err != nil {
		return nil, fmt.Errorf("watching the sync of %s: %w", name, err)
	}
	waited := time.Since(requested).Round(time.Second)
	switch {
	case result != nil:
		return result, fmt.Errorf("sync of %s finished (%s) but no reconciliation after it arrived within %s: health unknown: %w", name, result.Phase, waited, ctx.Err())
	case !pickedUp && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("no application-controller picked up the sync of %s within %s: the operation stays queued; run argocd app terminate-op %s or wait", name, waited, name)
	case !pickedUp:
		return nil, fmt.Errorf("the sync of %s was requested but no application-controller had picked it up: the operation stays queued (argocd app terminate-op %s cancels it): %w", name, name, ctx.Err())
	}
	return nil, fmt.Errorf("sync of %s did not finish within %s: the operation goes on in Argo CD: %w", name, waited, ctx.Err())
}

// requestSync sets .operation on a fresh read of the app, again each time the
// write loses a race (409) with the controller's status updates, until ctx
// ends. An operation someone else started is refused, never overwritten; one
// this initiator started (a run that was interrupted) is resumed: resumed is
// true and nothing is written, so running the same command again finishes.
func (c *Core) requestSync(ctx context.Context, name string) (*unstructured.Unstructured, bool, error) {
	apps := c.Client.Resource(kube.Applications, c.Namespace)
	delay := 10 * time.Millisecond
	for {
		app, err := apps.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && !kube.IsMissingKind(err) {
			return nil, false, fmt.Errorf("Application %s/%s does not exist: is the profile that holds it applied?", c.Namespace, name)
		}
		if err != nil {
			return nil, false, c.Client.Explain(err, kube.Applications)
		}
		if op, found, _ := unstructured.NestedMap(app.Object, "operation"); found {
			by, _, _ := unstructured.NestedString(op, "initiatedBy", "username")
			if by == c.Initiator {
				return app, true, nil
			}
			return nil, false, fmt.Errorf("an operation is already running on %s (initiated by %q): wait for it, or terminate it with argocd app terminate-op %s", name, by, name)
		}
		patch, err := OperationPatch(app, c.Initiator)
		if err != nil {
			return nil, false, err
		}
		started, err := apps.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: c.Initiator})
		if err == nil {
			return started, false, nil
		}
		if !apierrors.IsConflict(err) {
			return nil, false, fmt.Errorf("requesting the sync of %s: %w", name, c.Client.Explain(err, kube.Applications))
		}
		select {
		case <-ctx.Done():
			return nil, false, fmt.Errorf("%s kept changing while its sync was being requested: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// ReconciledAfter says whether app shows a reconciliation that happened after
// its operation finished at finishedAt: reconciledAt strictly later (it has a
// resolution of one second, so an equal time may be the reconciliation that
// ran while the operation was ending, with the health from before the sync),
// or the refresh requested at resourceVersion refreshRV done (the controller
// removes the refresh annotation in the same write as the status it computed,
// and only a reconciliation that started after the request sees it).
func ReconciledAfter(app *unstructured.Unstructured, finishedAt time.Time, refreshRV string) bool {
	if StatusOf(app).ReconciledAt.After(finishedAt) {
		return true
	}
	if refreshRV == "" {
		return false
	}
	if _, pending := app.GetAnnotations()[refreshAnnotation]; pending {
		return false
	}
	return resourceVersionAfter(app.GetResourceVersion(), refreshRV)
}

// resourceVersionAfter compares resourceVersions as the increasing integers
// (etcd revisions) the API server hands out; ones that are not integers never
// compare as later, leaving reconciledAt to decide.
func resourceVersionAfter(rv, than string) bool {
	a, errA := strconv.ParseUint(rv, 10, 64)
	b, errB := strconv.ParseUint(than, 10, 64)
	return errA == nil && errB == nil && a > b
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
