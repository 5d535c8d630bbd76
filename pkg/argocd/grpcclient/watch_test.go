package grpcclient

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// sendTrees sends n trees on stream.
func sendTrees(stream applicationpkg.ApplicationService_WatchResourceTreeServer, n int) error {
	for range n {
		if err := stream.Send(&v1alpha1.ApplicationTree{}); err != nil {
			return err
		}
	}
	return nil
}

// WatchTree calls changed at once, then at each tree the server sends, until
// changed says done.
func TestWatchTreeCallsChangedAtStartAndOnEachChange(t *testing.T) {
	apps := &fakeApps{watchTree: func(n int, stream applicationpkg.ApplicationService_WatchResourceTreeServer) error {
		if err := sendTrees(stream, 2); err != nil {
			return err
		}
		<-stream.Context().Done()
		return nil
	}}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	calls := 0
	err := c.WatchTree(testContext(t), "web-app", func() (bool, error) {
		calls++
		return calls == 4, nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("%d calls, %v; want 4 (at start, once the stream is open, and two changes)", calls, err)
	}

	// Done at start: no stream is opened.
	calls = 0
	if err := c.WatchTree(testContext(t), "web-app", func() (bool, error) { calls++; return true, nil }); err != nil || calls != 1 {
		t.Errorf("done at start: %d calls, %v", calls, err)
	}
	if n := recorded(apps, func() int { return apps.treeWatches }); n != 1 {
		t.Errorf("%d streams opened, want 1", n)
	}
}

// The caller's own error ends the watch as it is: it is no lost connection.
func TestWatchTreeReturnsTheCallersErrorAsItIs(t *testing.T) {
	apps := &fakeApps{watchTree: treeThenHold}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)
	mine := errors.New("the workload's selector does not parse")

	calls := 0
	err := c.WatchTree(testContext(t), "web-app", func() (bool, error) {
		calls++
		if calls == 3 { // at start, after the stream opened, then at its first tree
			return false, mine
		}
		return false, nil
	})
	if err != mine {
		t.Fatalf("got %#v, want the caller's error itself", err)
	}
	if n := recorded(apps, func() int { return apps.treeWatches }); n != 1 {
		t.Errorf("%d streams opened, want 1: the caller's error is not retried", n)
	}

	// At start, before any stream.
	if err := c.WatchTree(testContext(t), "web-app", func() (bool, error) { return false, mine }); err != mine {
		t.Errorf("at start: %v", err)
	}
	if n := recorded(apps, func() int { return apps.treeWatches }); n != 1 {
		t.Errorf("%d streams opened, want still 1", n)
	}
}

// A stream the server ends is opened again; changed goes on being called (here,
// as the gates do, reading an object through the same client).
func TestWatchTreeReopensAStreamTheServerClosed(t *testing.T) {
	apps := &fakeApps{
		watchTree: func(n int, stream applicationpkg.ApplicationService_WatchResourceTreeServer) error {
			if err := sendTrees(stream, 1); err != nil {
				return err
			}
			if n == 1 {
				return nil // the server ends the stream
			}
			<-stream.Context().Done()
			return nil
		},
		getResource: func(*applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error) {
			m := webManifest
			return &applicationpkg.ApplicationResourceResponse{Manifest: &m}, nil
		},
	}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)
	ctx := testContext(t)

	calls := 0
	err := c.WatchTree(ctx, "web-app", func() (bool, error) {
		calls++
		if _, err := c.Resource(ctx, "web-app", deployments, "apps", "web"); err != nil {
			return false, err
		}
		return calls == 5, nil // start; the first stream: opened, its tree; the second: opened, its tree
	})
	if err != nil || calls != 5 {
		t.Fatalf("%d calls, %v; want 5", calls, err)
	}
	if n := recorded(apps, func() int { return apps.treeWatches }); n != 2 {
		t.Errorf("%d streams opened, want 2", n)
	}
}

// The command ending the watch is its context's error.
func TestWatchTreeEndsWithItsContext(t *testing.T) {
	apps := &fakeApps{watchTree: treeThenHold}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)

	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	var calls atomic.Int32
	err := c.WatchTree(ctx, "web-app", func() (bool, error) {
		if calls.Add(1) == 2 {
			cancel() // the user's interrupt, while the stream is open
		}
		return false, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if apierrors.IsNotFound(err) || calls.Load() != 2 {
		t.Errorf("%d calls, %v", calls.Load(), err)
	}
}

// A watch read to its end is closed, on the server too: a stream left open
// would hold a watch on Argo CD's API server until the command ends.
func TestAFinishedWatchEndsItsStream(t *testing.T) {
	ended := make(chan string, 2)
	apps := syncFake(func(n int, q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error {
		if err := stream.Send(event(withOperation(syncedApp(), "Succeeded", time.Now()))); err != nil {
			return err
		}
		<-stream.Context().Done()
		ended <- "the sync's watch"
		return nil
	})
	apps.watchTree = func(n int, stream applicationpkg.ApplicationService_WatchResourceTreeServer) error {
		if err := sendTrees(stream, 1); err != nil {
			return err
		}
		<-stream.Context().Done()
		ended <- "the tree's watch"
		return nil
	}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)
	// A context that outlasts the waits below: only closing the stream ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	defer cancel()

	if _, err := c.Sync(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	if got := within(t, ended, "the end of the finished sync's stream"); got != "the sync's watch" {
		t.Errorf("%s ended", got)
	}
	calls := 0
	if err := c.WatchTree(ctx, "web-app", func() (bool, error) { calls++; return calls == 3, nil }); err != nil { // after the first tree
		t.Fatal(err)
	}
	if got := within(t, ended, "the end of the finished tree watch's stream"); got != "the tree's watch" {
		t.Errorf("%s ended", got)
	}
}

// treeThenHold is a tree watch that sends one tree, then holds the stream
// open until the client ends it.
func treeThenHold(_ int, stream applicationpkg.ApplicationService_WatchResourceTreeServer) error {
	if err := sendTrees(stream, 1); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

// A change made while the stream was being opened is never announced on it
// (Argo CD sends no current tree): it is read once the stream is open, and
// again every treeRecheck when the stream says nothing.
func TestWatchTreeReadsWhatNoEventAnnounces(t *testing.T) {
	silent := func(_ int, stream applicationpkg.ApplicationService_WatchResourceTreeServer) error {
		<-stream.Context().Done() // a tree that changed before the subscription: no event ever
		return nil
	}
	apps := &fakeApps{watchTree: silent}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)
	calls := 0
	if err := c.WatchTree(testContext(t), "web-app", func() (bool, error) { calls++; return calls == 2, nil }); err != nil || calls != 2 {
		t.Fatalf("read once the stream is open: %d calls, %v", calls, err)
	}
	defer func(d time.Duration) { treeRecheck = d }(treeRecheck)
	treeRecheck = 20 * time.Millisecond
	calls = 0
	if err := c.WatchTree(testContext(t), "web-app", func() (bool, error) { calls++; return calls == 4, nil }); err != nil || calls != 4 {
		t.Fatalf("read again every treeRecheck: %d calls, %v", calls, err)
	}
}
