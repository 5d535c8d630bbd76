package grpcclient

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
)

// syncedApp is web with the spec a sync copies and the state before the
// sync: OutOfSync, Degraded, the last operation an hour old.
func syncedApp() *v1alpha1.Application {
	app := newApp("web")
	app.Spec.Source.TargetRevision = "v1.2"
	app.Spec.SyncPolicy = &v1alpha1.SyncPolicy{
		SyncOptions: v1alpha1.SyncOptions{"ServerSideApply=true", "PruneLast=true"},
		Retry:       &v1alpha1.RetryStrategy{Limit: 3, Backoff: &v1alpha1.Backoff{Duration: "5s"}},
	}
	app.Status.Sync.Status = "OutOfSync"
	app.Status.Health.Status = "Degraded"
	return withOperation(app, "Failed", time.Now().Add(-time.Hour))
}

// withOperation is app with an operationState in phase, started at started
// (finished at once unless it is Running).
func withOperation(app *v1alpha1.Application, phase string, started time.Time) *v1alpha1.Application {
	app = app.DeepCopy()
	st := &v1alpha1.OperationState{Message: phase + " operation", StartedAt: metav1.NewTime(started)}
	switch phase {
	case "Running":
		st.Phase = "Running"
		app.Status.OperationState = st
		return app
	case "Succeeded":
		st.Phase = "Succeeded"
	default:
		st.Phase = "Failed"
	}
	finished := metav1.NewTime(started)
	st.FinishedAt = &finished
	st.SyncResult = &v1alpha1.SyncOperationResult{Revision: "abc123", Resources: v1alpha1.ResourceResults{
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "apps", Name: "web", Status: "Synced", Message: "deployment.apps/web configured"},
	}}
	app.Status.OperationState = st
	return app
}

func event(app *v1alpha1.Application) *v1alpha1.ApplicationWatchEvent {
	return &v1alpha1.ApplicationWatchEvent{Type: watch.Modified, Application: *app}
}

// syncFake is Argo CD syncing web: Get answers the pre-sync state, and Synced
// and Healthy when asked for a refresh; watch is how the operation goes.
func syncFake(watch func(n int, q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error) *fakeApps {
	apps := &fakeApps{apps: map[string]*v1alpha1.Application{"web": syncedApp()}, watch: watch}
	apps.get = func(_ context.Context, q *applicationpkg.ApplicationQuery) (*v1alpha1.Application, error) {
		app, err := apps.app(q.GetName())
		if err == nil && q.Refresh != nil {
			app.Status.Sync.Status, app.Status.Health.Status = "Synced", "Healthy"
		}
		return app, err
	}
	return apps
}

func TestSyncRefusesWhileAnOperationRuns(t *testing.T) {
	app := newApp("web")
	app.Operation = &v1alpha1.Operation{InitiatedBy: v1alpha1.OperationInitiator{Username: "alice"}, Sync: &v1alpha1.SyncOperation{}}
	apps := &fakeApps{apps: map[string]*v1alpha1.Application{"web": app}}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	_, err := c.Sync(testContext(t), "web", nil)
	if err == nil || !strings.Contains(err.Error(), `initiated by "alice"`) || !strings.Contains(err.Error(), "terminate-op web") {
		t.Fatalf("got %v", err)
	}
	if n := recorded(apps, func() int { return len(apps.syncs) }); n != 0 {
		t.Errorf("%d sync requests made over a running operation", n)
	}
}

// The sync request is made once: Argo CD's refusal is the answer.
func TestSyncReportsARefusedRequestOnce(t *testing.T) {
	apps := syncFake(nil)
	apps.syncErr = status.Error(codes.PermissionDenied, "permission denied: applications, sync, default/web")
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	_, err := c.Sync(testContext(t), "web", nil)
	if !errors.Is(err, argocd.ErrPermissionDenied) {
		t.Fatalf("got %v", err)
	}
	if n := recorded(apps, func() int { return len(apps.syncs) }); n != 1 {
		t.Errorf("%d sync requests, want 1", n)
	}
}

// Sync copies the spec's revision, syncOptions and retry into its request,
// follows the operation past the previous one's result until it finishes,
// and reads sync and health with a hard refresh.
func TestSyncFollowsTheOperationAndReadsWithAHardRefresh(t *testing.T) {
	apps := syncFake(func(n int, q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error {
		now := time.Now()
		app := syncedApp() // the previous operation's result first: not this one's
		for _, a := range []*v1alpha1.Application{app, withOperation(app, "Running", now), withOperation(app, "Succeeded", now)} {
			if err := stream.Send(event(a)); err != nil {
				return err
			}
		}
		<-stream.Context().Done()
		return nil
	})
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	var phases []string
	res, err := c.Sync(testContext(t), "web", func(s argocd.AppStatus) { phases = append(phases, s.OperationPhase) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Failed", "Running", "Succeeded"}; !reflect.DeepEqual(phases, want) {
		t.Errorf("progress saw %v, want %v", phases, want)
	}
	if res.Phase != "Succeeded" || res.Revision != "abc123" || len(res.Resources) != 1 || res.Resources[0].Name != "web" {
		t.Errorf("result %+v", res)
	}
	if res.Sync != "Synced" || res.Health != "Healthy" {
		t.Errorf("result reads %s/%s, not the refreshed state", res.Sync, res.Health)
	}

	syncs := recorded(apps, func() []*applicationpkg.ApplicationSyncRequest { return apps.syncs })
	if len(syncs) != 1 {
		t.Fatalf("%d sync requests", len(syncs))
	}
	r := syncs[0]
	if r.GetName() != "web" || r.GetRevision() != "v1.2" {
		t.Errorf("sync of %q at %q", r.GetName(), r.GetRevision())
	}
	if got := r.GetSyncOptions().GetItems(); !reflect.DeepEqual(got, []string{"ServerSideApply=true", "PruneLast=true"}) {
		t.Errorf("syncOptions %v", got)
	}
	if rs := r.GetRetryStrategy(); rs == nil || rs.Limit != 3 || rs.Backoff == nil || rs.Backoff.Duration != "5s" {
		t.Errorf("retry %+v", rs)
	}

	gets := recorded(apps, func() []*applicationpkg.ApplicationQuery { return apps.gets })
	if len(gets) != 2 || gets[0].Refresh != nil || gets[1].GetRefresh() != "hard" {
		var refresh []string
		for _, g := range gets {
			refresh = append(refresh, fmt.Sprintf("%q", g.GetRefresh()))
		}
		t.Errorf("reads with refresh %v, want [\"\" \"hard\"]", refresh)
	}
	srv.onlyToken(t)
}

// A watch stream that breaks is opened again and the sync still finishes.
func TestSyncReopensABrokenWatch(t *testing.T) {
	apps := syncFake(func(n int, q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error {
		now := time.Now()
		if n == 1 {
			if err := stream.Send(event(withOperation(syncedApp(), "Running", now))); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "the API server is shutting down")
		}
		if err := stream.Send(event(withOperation(syncedApp(), "Succeeded", now))); err != nil {
			return err
		}
		<-stream.Context().Done()
		return nil
	})
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	res, err := c.Sync(testContext(t), "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Phase != "Succeeded" || res.Health != "Healthy" {
		t.Errorf("result %+v", res)
	}
	if n := recorded(apps, func() int { return apps.watches }); n != 2 {
		t.Errorf("watch opened %d times, want 2", n)
	}
	if n := recorded(apps, func() int { return len(apps.syncs) }); n != 1 {
		t.Errorf("%d sync requests, want 1", n)
	}
}

// Argo CD restarting during a sync: the connection is made again and the
// watch goes on until the operation finishes.
func TestSyncOutlivesAServerRestart(t *testing.T) {
	watching := make(chan struct{})
	apps := syncFake(func(n int, q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error {
		now := time.Now()
		if n == 1 {
			if err := stream.Send(event(withOperation(syncedApp(), "Running", now))); err != nil {
				return err
			}
			close(watching)
		} else if err := stream.Send(event(withOperation(syncedApp(), "Succeeded", now))); err != nil {
			return err
		}
		<-stream.Context().Done()
		return nil
	})
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	type result struct {
		r   *argocd.SyncResult
		err error
	}
	done := make(chan result, 1)
	ctx := testContext(t)
	go func() {
		r, err := c.Sync(ctx, "web", nil)
		done <- result{r, err}
	}()
	within(t, watching, "the first watch")
	srv.restart(t)
	res := within(t, done, "the sync after the restart")
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.r.Phase != "Succeeded" || res.r.Sync != "Synced" {
		t.Errorf("result %+v", res.r)
	}
	if n := recorded(apps, func() int { return apps.watches }); n != 2 {
		t.Errorf("watch opened %d times, want 2", n)
	}
}

// The command's own deadline ends the watch, not Argo CD: the operation goes on.
func TestSyncNotFinishedInTime(t *testing.T) {
	apps := syncFake(func(n int, q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error {
		if err := stream.Send(event(withOperation(syncedApp(), "Running", time.Now()))); err != nil {
			return err
		}
		<-stream.Context().Done()
		return nil
	})
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	// The deadline passes once the operation runs (a timer would race the
	// first calls on a loaded machine).
	ctx, cancel := context.WithCancelCause(testContext(t))
	defer cancel(nil)
	timeout := fmt.Errorf("--timeout 10m0s: %w", context.DeadlineExceeded)
	_, err := c.Sync(ctx, "web", func(s argocd.AppStatus) {
		if s.OperationPhase == "Running" {
			cancel(timeout)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "sync of web did not finish within") || !strings.Contains(err.Error(), "goes on in Argo CD") {
		t.Fatalf("got %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the cause is not kept: %v", err)
	}
	if n := recorded(apps, func() int { return apps.watches }); n != 1 {
		t.Errorf("watch opened %d times after the deadline", n)
	}
}
