package grpcclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc/status"
)

// Every call is bounded: a server that takes the connection and never
// answers ends a call with the message that says so, never hangs it.

// short is the bound under test where a timeout is the behaviour tested.
const short = 300 * time.Millisecond

// silentListener accepts TCP connections and never writes a byte; accepted
// is told of each.
func silentListener(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return lis.Addr().String(), ch
}

func TestASilentServerEndsTheConnectWithinItsBound(t *testing.T) {
	addr, _ := silentListener(t)
	c := connect(t, addr, func(o *Options) { o.ConnectTimeout = short })

	start := time.Now()
	_, err := c.Application(testContext(t), "web")
	var hung *noAnswerError
	if !errors.As(err, &hung) || !strings.Contains(err.Error(), "took the connection and did not answer in 300ms while connecting") {
		t.Fatalf("got %v", err)
	}
	if waited := time.Since(start); waited > patience {
		t.Errorf("waited %s", waited)
	}
}

func TestAStuckCallEndsWithTheRequestTimeout(t *testing.T) {
	apps := &fakeApps{get: func(ctx context.Context, q *applicationpkg.ApplicationQuery) (*v1alpha1.Application, error) {
		<-ctx.Done() // a server that hangs on the call
		return nil, status.FromContextError(ctx.Err()).Err()
	}}
	acc := &fakeAccount{hang: true}
	srv := startFake(t, apps, acc)
	c := connect(t, srv.addr, func(o *Options) { o.RequestTimeout = short })
	ctx := testContext(t)

	_, err := c.Application(ctx, "web")
	var hung *noAnswerError
	if !errors.As(err, &hung) || !strings.Contains(err.Error(), "did not answer in 300ms while reading web") || !strings.Contains(err.Error(), "--request-timeout") {
		t.Fatalf("Application: %v", err)
	}
	if n := recorded(apps, func() int { return len(apps.gets) }); n > 1 {
		t.Errorf("a call that was not answered was made %d times", n)
	}
	_, err = c.CanI(ctx, "applications", "sync", "default/web")
	if !errors.As(err, &hung) || !strings.Contains(err.Error(), "did not answer in 300ms while asking can-i") {
		t.Fatalf("CanI: %v", err)
	}
}

// The command ending while connecting names the call it stopped, with its cause.
func TestStoppedWhileConnecting(t *testing.T) {
	addr, accepted := silentListener(t)
	c := connect(t, addr)
	ctx, cancel := context.WithCancelCause(testContext(t))
	defer cancel(nil)
	interrupt := errors.New("interrupted")
	go func() {
		select {
		case <-accepted:
			cancel(interrupt)
		case <-ctx.Done():
		}
	}()

	_, err := c.Applications(ctx)
	if !errors.Is(err, interrupt) || !strings.Contains(err.Error(), "stopped while listing the Applications (Argo CD at "+addr+")") {
		t.Fatalf("got %v", err)
	}
}

// A server never reached is not waited for: a refused connection is the
// answer at once.
func TestARefusedServerIsNotWaitedFor(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now

	c := connect(t, addr)
	_, err = c.Application(testContext(t), "web")
	if err == nil || !strings.Contains(err.Error(), "cannot reach the Argo CD server at "+addr) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("the token is in %q", err)
	}
}

// Once the server answered, a connection it drops (a restart) is made again
// and the call made on it.
func TestACallOutlivesAServerRestart(t *testing.T) {
	srv := startFake(t, &fakeApps{apps: map[string]*v1alpha1.Application{"web": newApp("web")}}, nil)
	c := connect(t, srv.addr)
	ctx := testContext(t)

	if _, err := c.Application(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	srv.restart(t)
	app, err := c.Application(ctx, "web")
	if err != nil || app.GetName() != "web" {
		t.Fatalf("after the restart: %v", err)
	}
}
