package grpcclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A connection that went away is made again; a refusal, a config that cannot
// work and a server that never answers are not.
func TestLostTellsAGoneConnectionFromARefusal(t *testing.T) {
	s := &Client{opts: Options{Server: "argocd:443"}}
	refused := &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for err, want := range map[error]bool{
		status.Error(codes.Unavailable, "connection closed"): true,
		status.Error(codes.Unknown, "transport is closing"):  true,
		fmt.Errorf("stream: %w", io.EOF):                     true,
		fmt.Errorf("dialling: %w", refused):                  true,
		status.Error(codes.PermissionDenied, "denied"):       false,
		status.Error(codes.Unauthenticated, "invalid token"): false,
		&permanent{errors.New("bad config")}:                 false,
		s.noAnswer(time.Second, "listing the Applications"):  false,
	} {
		if got := lost(err); got != want {
			t.Errorf("lost(%v) = %v, want %v", err, got, want)
		}
	}
}

// A server never reached is not waited for: the first failure is the answer.
func TestRetryWaitsOnlyForAServerItReached(t *testing.T) {
	s := &Client{opts: Options{Server: "argocd:443"}}
	calls := 0
	gone := status.Error(codes.Unavailable, "connection refused")
	err := s.retry(context.Background(), "listing", true, func() error { calls++; return gone })
	if calls != 1 || err == nil || !strings.Contains(err.Error(), "cannot reach the Argo CD server at argocd:443") {
		t.Fatalf("never reached: %d call(s), %v", calls, err)
	}
	// Once a call succeeded, a lost connection is dialled again until it answers.
	s.answered = true
	calls = 0
	err = s.retry(context.Background(), "listing", true, func() error {
		calls++
		if calls < 3 {
			return gone
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("reached before: %d call(s), %v", calls, err)
	}
	// ... but not a write that must not be made twice.
	calls = 0
	if err := s.retry(context.Background(), "asking for a sync", false, func() error { calls++; return gone }); err == nil || calls != 1 {
		t.Errorf("a call made once was made %d times (%v)", calls, err)
	}
	// The gates' own errors pass as they are.
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, "raw-vllm")
	if err := s.retry(context.Background(), "reading", true, func() error { return notFound }); !apierrors.IsNotFound(err) {
		t.Errorf("NotFound became %v", err)
	}
}
