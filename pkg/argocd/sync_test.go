package argocd

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// controllerManager is the field manager of the simulated application-controller.
const controllerManager = "argocd-application-controller"

const liveApp = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: raw-vllm
  namespace: argocd
spec:
  project: platform
  source: {repoURL: "file:///repo", targetRevision: HEAD, path: workloads/raw-vllm}
  destination: {server: "https://kubernetes.default.svc", namespace: serving}
  syncPolicy:
    syncOptions: [CreateNamespace=true, ServerSideApply=true, RespectIgnoreDifferences=true]
    retry: {limit: 2}
status:
  sync: {status: OutOfSync}
  health: {status: Missing}
  reconciledAt: "2026-01-01T00:00:00Z"
  operationState:
    phase: Succeeded
    startedAt: "2026-01-01T00:00:00Z"
    finishedAt: "2026-01-01T00:00:00Z"
`

// controller simulates the application-controller: it answers the operation
// request and the refresh request with the status patches its callbacks
// return (nil: it does nothing), written through the API in the background,
// as a controller would.
type controller struct {
	t           *testing.T
	f           *kubetest.Fake
	onOperation func() map[string]any
	onRefresh   func() map[string]any
}

func newController(t *testing.T, objs ...runtime.Object) *controller {
	c := &controller{t: t, f: kubetest.NewClient(objs...)}
	c.f.Dynamic.PrependReactor("patch", "applications", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if p.PatchOptions.FieldManager == controllerManager {
			return false, nil, nil
		}
		body := string(p.GetPatch())
		switch {
		case strings.Contains(body, `"operation":`) && c.onOperation != nil:
			go c.write(c.onOperation())
		case strings.Contains(body, refreshAnnotation) && c.onRefresh != nil:
			go c.write(c.onRefresh())
		}
		return false, nil, nil
	})
	return c
}

func (c *controller) write(patch map[string]any) {
	if patch == nil {
		return
	}
	b, _ := json.Marshal(patch)
	if _, err := c.f.Client.Resource(kube.Applications, "argocd").Patch(context.Background(), "raw-vllm", types.MergePatchType, b, metav1.PatchOptions{FieldManager: controllerManager}); err != nil {
		c.t.Error(err)
	}
}

// holdFromTheRefresh makes the app's watches deliver no event from the first
// that carries the refresh request on, until release is closed; then the held
// events follow, in order. What Sync reads right after requesting a refresh is
// then what came before the request, however fast the watch is.
func (c *controller) holdFromTheRefresh(release <-chan struct{}) {
	tracker := c.f.Dynamic.Tracker()
	c.f.Dynamic.PrependWatchReactor("applications", func(a k8stesting.Action) (bool, watch.Interface, error) {
		inner, err := tracker.Watch(a.GetResource(), a.GetNamespace(), a.(k8stesting.WatchActionImpl).ListOptions)
		if err != nil {
			return true, nil, err
		}
		h := &heldWatch{inner: inner, out: make(chan watch.Event), stop: make(chan struct{})}
		go h.run(release)
		return true, h, nil
	})
}

type heldWatch struct {
	inner watch.Interface
	out   chan watch.Event
	stop  chan struct{}
	once  sync.Once
}

func (h *heldWatch) ResultChan() <-chan watch.Event { return h.out }
func (h *heldWatch) Stop()                          { h.once.Do(func() { close(h.stop); h.inner.Stop() }) }

func (h *heldWatch) run(release <-chan struct{}) {
	defer close(h.out)
	holding := false
	for {
		var ev watch.Event
		select {
		case e, ok := <-h.inner.ResultChan():
			if !ok {
				return
			}
			ev = e
		case <-h.stop:
			return
		}
		if u, ok := ev.Object.(*unstructured.Unstructured); ok && u.GetAnnotations()[refreshAnnotation] != "" {
			holding = true
		}
		if holding {
			select {
			case <-release:
			case <-h.stop:
				return
			}
		}
		select {
		case h.out <- ev:
		case <-h.stop:
			return
		}
	}
}

// pluginWrites renders the writes of the code under test, not the controller's.
func (c *controller) pluginWrites() string {
	var b strings.Builder
	for _, a := range c.f.Dynamic.Actions() {
		if p, ok := a.(k8stesting.PatchActionImpl); ok && p.PatchOptions.FieldManager != controllerManager {
			b.WriteString(kubetest.Describe(a))
		}
	}
	return b.String()
}

func (c *controller) core() *Core {
	return &Core{Client: c.f.Client, Namespace: "argocd", Initiator: "kubectl-costgate"}
}

// finished is the operation's end as the controller writes it: the
// operation removed, its state with the synced resources, and (reconciledAt
// and the app's status) whatever the test says.
func finished(phase string, at time.Time, reconciledAt time.Time, sync, health string) map[string]any {
	stamp := at.UTC().Format(time.RFC3339)
	return map[string]any{
		"operation": nil,
		"status": map[string]any{
			"sync":         map[string]any{"status": sync},
			"health":       map[string]any{"status": health},
			"reconciledAt": reconciledAt.UTC().Format(time.RFC3339),
			"operationState": map[string]any{
				"phase": phase, "message": "successfully synced (all tasks run)", "startedAt": stamp, "finishedAt": stamp,
				"syncResult": map[string]any{"revision": "4f1c2d3e4b5a69788796a5b4c3d2e1f001122334", "resources": []any{
					map[string]any{"kind": "Deployment", "namespace": "serving", "name": "raw-vllm", "status": "Synced", "message": "deployment.apps/raw-vllm created"},
				}},
			},
		},
	}
}

func reconciled(at time.Time, sync, health string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{refreshAnnotation: nil}},
		"status": map[string]any{
			"sync": map[string]any{"status": sync}, "health": map[string]any{"status": health},
			"reconciledAt": at.UTC().Format(time.RFC3339),
		},
	}
}

// The 1 s resolution of reconciledAt: a reconciliation in the same second as
// the operation's end may have read the app before the sync. Here the
// controller's own post-operation reconciliation (reconciledAt equal to
// finishedAt, the pre-sync OutOfSync/Missing) lands between the operation's
// end and the refresh request: it must not be taken for the answer. The
// refresh is, in a later resourceVersion, though its reconciledAt is equal too.
func TestCoreSyncNeedsAReconciliationAfterTheOperation(t *testing.T) {
	c := newController(t, kubetest.Objects(liveApp)...)
	var end time.Time
	c.onOperation = func() map[string]any {
		end = time.Now().Truncate(time.Second)
		return finished("Succeeded", end, end.Add(-time.Minute), "OutOfSync", "Missing")
	}
	c.onRefresh = func() map[string]any { return reconciled(end, "Synced", "Healthy") }
	// The watch holds the refresh request and all after it until Sync has
	// read the post-operation reconciliation: so it reads that one after
	// asking for the refresh, as when the watch delivers it late.
	release := make(chan struct{})
	c.holdFromTheRefresh(release)
	var seen []string
	var wrote, staleSeen bool
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	result, err := c.core().Sync(ctx, "raw-vllm", func(st AppStatus) {
		seen = append(seen, st.Sync+" "+st.Health+" "+st.OperationPhase)
		switch {
		case st.OperationPhase == "Succeeded" && !wrote:
			// The operation's end. Before the refresh request is sent: the
			// controller's own post-operation reconciliation.
			wrote = true
			c.write(map[string]any{"status": map[string]any{"reconciledAt": end.UTC().Format(time.RFC3339)}})
		case st.ReconciledAt.Equal(end) && st.Health == "Missing" && !staleSeen:
			// Read after the refresh request (sent once the operation's
			// end was read), which the watch holds: let it through.
			staleSeen = true
			close(release)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !staleSeen {
		t.Errorf("the post-operation reconciliation was not read after the refresh request: %q", seen)
	}
	if result.Sync != Synced || result.Health != Healthy || result.Phase != "Succeeded" || len(result.Resources) != 1 {
		t.Errorf("result: %+v", result)
	}
	if got, want := strings.Join(seen, "\n"), "OutOfSync Missing Succeeded\nSynced Healthy Succeeded"; !strings.HasPrefix(got, "OutOfSync Missing Succeeded") || !strings.HasSuffix(got, "Synced Healthy Succeeded") {
		t.Errorf("progress:\n%s\nwant\n%s", got, want)
	}
	want := `patch applications.argoproj.io argocd/raw-vllm (fieldManager=kubectl-costgate, type=application/merge-patch+json)
  {
    "metadata": {
      "resourceVersion": "101"
    },
    "operation": {
      "initiatedBy": {
        "username": "kubectl-costgate"
      },
      "retry": {
        "limit": 2
      },
      "sync": {
        "revision": "HEAD",
        "syncOptions": [
          "CreateNamespace=true",
          "ServerSideApply=true",
          "RespectIgnoreDifferences=true"
        ]
      }
    },
    "status": {
      "operationState": null
    }
  }
patch applications.argoproj.io argocd/raw-vllm (fieldManager=kubectl-costgate, type=application/merge-patch+json)
  {
    "metadata": {
      "annotations": {
        "argocd.argoproj.io/refresh": "hard"
      }
    }
  }
`
	if got := c.pluginWrites(); got != want {
		t.Errorf("writes:\n%s\nwant:\n%s", got, want)
	}
}

// A reconciliation in a later second than the operation's end is enough: no
// refresh is requested.
func TestCoreSyncTakesALaterReconciledAt(t *testing.T) {
	c := newController(t, kubetest.Objects(liveApp)...)
	c.onOperation = func() map[string]any {
		end := time.Now().Truncate(time.Second)
		return finished("Failed", end, end.Add(time.Second), "OutOfSync", "Degraded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	result, err := c.core().Sync(ctx, "raw-vllm", nil)
	if err != nil || result.Phase != "Failed" || result.Succeeded() || result.Health != Degraded {
		t.Fatalf("%+v %v", result, err)
	}
	if n := strings.Count(c.pluginWrites(), "\npatch ") + 1; n != 1 {
		t.Errorf("%d writes, want the operation only:\n%s", n, c.pluginWrites())
	}
}

func TestCoreSyncTimeouts(t *testing.T) {
	// Nobody picks the operation up: no application-controller runs.
	c := newController(t, kubetest.Objects(liveApp)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := c.core().Sync(ctx, "raw-vllm", nil)
	want := "no application-controller picked up the sync of raw-vllm within 1s: the operation stays queued; run argocd app terminate-op raw-vllm or wait"
	if err == nil || err.Error() != want {
		t.Errorf("no controller:\n%v\nwant\n%s", err, want)
	}

	// The operation ends, but no reconciliation after it comes.
	c = newController(t, kubetest.Objects(liveApp)...)
	c.onOperation = func() map[string]any {
		end := time.Now().Truncate(time.Second)
		return finished("Succeeded", end, end, "OutOfSync", "Missing")
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	result, err := c.core().Sync(ctx, "raw-vllm", nil)
	want = "sync of raw-vllm finished (Succeeded) but no reconciliation after it arrived within 1s: health unknown: context deadline exceeded"
	if err == nil || err.Error() != want || result == nil {
		t.Errorf("no reconciliation:\n%v\nwant\n%s", err, want)
	}

	// Picked up, still running at the deadline.
	c = newController(t, kubetest.Objects(liveApp)...)
	c.onOperation = func() map[string]any {
		return map[string]any{"status": map[string]any{"operationState": map[string]any{"phase": "Running", "startedAt": time.Now().UTC().Format(time.RFC3339)}}}
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = c.core().Sync(ctx, "raw-vllm", nil)
	want = "sync of raw-vllm did not finish within 1s: the operation goes on in Argo CD: context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Errorf("running:\n%v\nwant\n%s", err, want)
	}

	// Interrupted before any controller picked it up: once it watches.
	c = newController(t, kubetest.Objects(liveApp)...)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c.f.Dynamic.PrependWatchReactor("applications", func(k8stesting.Action) (bool, watch.Interface, error) {
		stop()
		return false, nil, nil
	})
	_, err = c.core().Sync(ctx, "raw-vllm", nil)
	want = "the sync of raw-vllm was requested but no application-controller had picked it up: the operation stays queued (argocd app terminate-op raw-vllm cancels it): context canceled"
	if err == nil || err.Error() != want {
		t.Errorf("interrupted:\n%v\nwant\n%s", err, want)
	}
}

func TestCoreSyncRefusesBeforeWriting(t *testing.T) {
	running := strings.Replace(liveApp, "status:\n", "operation:\n  initiatedBy: {username: alice}\n  sync: {revision: HEAD}\nstatus:\n", 1)
	forbidden := newController(t, kubetest.Objects(liveApp)...)
	forbidden.f.Dynamic.PrependReactor("patch", "applications", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applications"}, "raw-vllm", errors.New(`User "viewer" cannot patch resource "applications"`))
	})
	for _, tc := range []struct {
		c      *controller
		writes bool
		want   string
	}{
		{newController(t, kubetest.Objects(running)...), false,
			`an operation is already running on raw-vllm (initiated by "alice"): wait for it, or terminate it with argocd app terminate-op raw-vllm`},
		{newController(t), false, "Application argocd/raw-vllm does not exist: is the profile that holds it applied?"},
		{forbidden, true, `requesting the sync of raw-vllm: not allowed on https://fake.cluster:6443 (context "fake"): applications.argoproj.io "raw-vllm" is forbidden: User "viewer" cannot patch resource "applications"`},
	} {
		_, err := tc.c.core().Sync(context.Background(), "raw-vllm", nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
		if w := tc.c.pluginWrites(); !tc.writes && w != "" {
			t.Errorf("a refused sync wrote:\n%s", w)
		}
	}
}

// The controller updates the app's status all the time: a request that loses
// that race is sent again from a fresh read, not given up.
func TestCoreSyncRetriesAConflictFromAFreshRead(t *testing.T) {
	c := newController(t, kubetest.Objects(liveApp)...)
	var conflicts atomic.Int32
	c.f.Dynamic.PrependReactor("patch", "applications", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if p.PatchOptions.FieldManager != controllerManager && strings.Contains(string(p.GetPatch()), `"operation":`) && conflicts.Add(1) <= 3 {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "argoproj.io", Resource: "applications"}, "raw-vllm", errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	c.onOperation = func() map[string]any {
		end := time.Now().Truncate(time.Second)
		return finished("Succeeded", end, end.Add(time.Second), "Synced", "Healthy")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	result, err := c.core().Sync(ctx, "raw-vllm", nil)
	if err != nil || !result.Succeeded() || result.Sync != Synced {
		t.Fatalf("%+v %v", result, err)
	}
	if n := conflicts.Load(); n != 4 {
		t.Errorf("%d operation requests, want 3 refused and 1 accepted", n)
	}
}

func TestReconciledAfter(t *testing.T) {
	end := time.Date(2026, 11, 26, 12, 0, 5, 0, time.UTC)
	app := func(rv, reconciledAt string, pending bool) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"reconciledAt": reconciledAt}}}
		u.SetResourceVersion(rv)
		if pending {
			u.SetAnnotations(map[string]string{refreshAnnotation: "hard"})
		}
		return u
	}
	for _, tc := range []struct {
		name      string
		app       *unstructured.Unstructured
		refreshRV string
		want      bool
	}{
		{"a later second", app("10", "2026-11-26T12:00:06Z", true), "", true},
		{"the same second", app("10", "2026-11-26T12:00:05Z", false), "", false},
		{"the same second, no refresh asked yet", app("10", "2026-11-26T12:00:05Z", false), "", false},
		{"the same second, older than the refresh request", app("11", "2026-11-26T12:00:05Z", false), "12", false},
		{"the refresh request itself", app("12", "2026-11-26T12:00:05Z", true), "12", false},
		{"the refresh done", app("13", "2026-11-26T12:00:05Z", false), "12", true},
		{"the refresh done, opaque versions", app("b", "2026-11-26T12:00:05Z", false), "a", false},
	} {
		if got := ReconciledAfter(tc.app, end, tc.refreshRV); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// An interrupted run left its operation queued: the same initiator's next run
// waits for that operation instead of refusing it, and writes nothing.
func TestCoreSyncResumesItsOwnOperation(t *testing.T) {
	queued := strings.Replace(liveApp, "status:\n", "operation:\n  initiatedBy: {username: kubectl-costgate}\n  sync: {revision: HEAD}\nstatus:\n", 1)
	queued = queued[:strings.Index(queued, "  operationState:")]
	c := newController(t, kubetest.Objects(queued)...)
	// The operation ends while the next run waits on it: once it watches
	// (the write waits for the watch, which holds the fake's lock).
	var once sync.Once
	c.f.Dynamic.PrependWatchReactor("applications", func(k8stesting.Action) (bool, watch.Interface, error) {
		once.Do(func() {
			end := time.Now().Truncate(time.Second)
			go c.write(finished("Succeeded", end, end.Add(time.Second), "Synced", "Healthy"))
		})
		return false, nil, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	result, err := c.core().Sync(ctx, "raw-vllm", nil)
	if err != nil || !result.Succeeded() || result.Health != Healthy {
		t.Fatalf("%+v %v", result, err)
	}
	if w := c.pluginWrites(); w != "" {
		t.Errorf("resuming wrote:\n%s", w)
	}
}
