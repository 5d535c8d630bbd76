package grpcclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient"
	accountpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/account"
	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// The connection to Argo CD: every dial, call and stream is bounded, and a
// connection lost while the server restarts is made anew with backoff until
// the command's own deadline.

// applications is the application service on the kept connection, dialled
// on first use and after reset.
func (s *Client) applications(ctx context.Context) (applicationpkg.ApplicationServiceClient, error) {
	return kept(ctx, s, &s.apps, func(c apiclient.Client, dctx context.Context) (applicationpkg.ApplicationServiceClient, error) {
		_, apps, err := c.NewApplicationClientWithContext(dctx) // closed with the process
		return apps, err
	})
}

// account is the account service (can-i), kept like applications.
func (s *Client) account(ctx context.Context) (accountpkg.AccountServiceClient, error) {
	return kept(ctx, s, &s.acc, func(c apiclient.Client, dctx context.Context) (accountpkg.AccountServiceClient, error) {
		_, acc, err := c.NewAccountClientWithContext(dctx) // closed with the process
		return acc, err
	})
}

// kept returns the service in slot, dialling it (bounded) when there is none.
func kept[T comparable](ctx context.Context, s *Client, slot *T, open func(apiclient.Client, context.Context) (T, error)) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var none T
	if *slot != none {
		return *slot, nil
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return none, err
	}
	var svc T
	err = s.dial(ctx, func(dctx context.Context) (err error) {
		svc, err = open(c, dctx)
		return err
	})
	if err != nil {
		return none, err
	}
	*slot = svc
	return svc, nil
}

// reset drops the kept connections: apiclient's connection reuses the socket
// it dialled, so once the server has gone it never comes back by itself.
func (s *Client) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps, s.acc, s.sess = nil, nil, nil
}

// apiClient creates the API client on first use (s.mu held). apiclient asks
// the server its version while it is created, with no deadline of ours and,
// past a deadline, a log.Fatal of its own: so it runs on a context nothing
// cancels, and is left behind when ctx ends or the connect timeout passes
// (the process ends soon after).
func (s *Client) apiClient(ctx context.Context) (apiclient.Client, error) {
	if s.client != nil {
		return s.client, nil
	}
	type result struct {
		c   apiclient.Client
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := apiclient.NewClientWithContext(context.Background(), s.co)
		done <- result{c, err}
	}()
	timer := time.NewTimer(s.opts.ConnectTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, &permanent{fmt.Errorf("Argo CD client for %s: %s", s.opts.Server, printers.Redact(r.err.Error(), s.opts.AuthToken))}
		}
		s.client = r.c
		return s.client, nil
	case <-ctx.Done():
		return nil, s.ended(ctx, "connecting")
	case <-timer.C:
		return nil, s.noAnswer(s.opts.ConnectTimeout, "connecting")
	}
}

// dial runs one connection attempt bounded by ctx and the connect timeout.
func (s *Client) dial(ctx context.Context, connect func(context.Context) error) error {
	dctx, cancel := context.WithTimeout(ctx, s.opts.ConnectTimeout)
	defer cancel()
	err := connect(dctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return s.ended(ctx, "connecting")
	case dctx.Err() != nil:
		return s.noAnswer(s.opts.ConnectTimeout, "connecting")
	}
	return fmt.Errorf("dialling: %w", err)
}

// call runs one call that is no stream, bounded by the request timeout. A
// lost connection (the server restarting, a dropped socket) is dialled anew
// and the call made again, with backoff, until ctx ends; idempotent says the
// call may be made twice (reads, and writes guarded by a resourceVersion).
func (s *Client) call(ctx context.Context, doing string, idempotent bool, fn func(context.Context, applicationpkg.ApplicationServiceClient) error) error {
	return s.retry(ctx, doing, idempotent, func() error {
		apps, err := s.applications(ctx)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		defer cancel()
		err = fn(cctx, apps)
		if err != nil && ctx.Err() == nil && timedOut(cctx, err) {
			return s.noAnswer(s.opts.RequestTimeout, doing)
		}
		return err
	})
}

// reached says whether a call has succeeded on this Client.
func (s *Client) reached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered
}

// retry makes attempt again while it fails in a way a new connection cures.
func (s *Client) retry(ctx context.Context, doing string, again bool, attempt func() error) error {
	delay := 250 * time.Millisecond
	for {
		err := attempt()
		switch {
		case err == nil:
			s.mu.Lock()
			s.answered = true
			s.mu.Unlock()
			return nil
		case ctx.Err() != nil:
			return s.ended(ctx, doing)
		case !again || !lost(err) || !s.reached():
			// A server never reached is not waited for: it is down, or the
			// address is wrong.
			return s.explain(err)
		}
		klog.V(1).Infof("Argo CD at %s: %s: %v; connecting again in %s", s.opts.Server, doing, err, delay)
		s.reset()
		select {
		case <-ctx.Done():
			return fmt.Errorf("lost Argo CD at %s while %s and it did not come back: %s (%w)", s.opts.Server, doing, s.explain(err), context.Cause(ctx))
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// lost says whether err is a connection that went away, which a new one may cure.
func lost(err error) bool {
	var p *permanent
	var hung *noAnswerError
	switch {
	case errors.As(err, &p), errors.As(err, &hung):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	}
	st, ok := status.FromError(err)
	return ok && (st.Code() == codes.Unavailable || st.Code() == codes.Unknown && st.Message() == "transport is closing")
}

// permanent is a failure no new connection cures (a bad config).
type permanent struct{ error }

func (p *permanent) Unwrap() error { return p.error }

// noAnswerError is a server that took the connection and said nothing in time.
type noAnswerError struct{ error }

func (n *noAnswerError) Unwrap() error { return n.error }

func (s *Client) noAnswer(after time.Duration, doing string) error {
	return &noAnswerError{fmt.Errorf("Argo CD at %s took the connection and did not answer in %s while %s (a stuck server or a half-open load balancer; --request-timeout sets how long to wait)",
		s.opts.Server, after, doing)}
}

// ended is a call cut short by the command itself: its --timeout or an interrupt.
func (s *Client) ended(ctx context.Context, doing string) error {
	return fmt.Errorf("stopped while %s (Argo CD at %s): %w", doing, s.opts.Server, context.Cause(ctx))
}

// explain turns gRPC errors into what went wrong for the user, without the
// token; errors of our own making pass as they are.
func (s *Client) explain(err error) error {
	var p *permanent
	var hung *noAnswerError
	var api apierrors.APIStatus // absent, conflict: the gates act on them
	if errors.As(err, &p) || errors.As(err, &hung) || errors.As(err, &api) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("cannot reach the Argo CD server at %s: %s", s.opts.Server, printers.Redact(err.Error(), s.opts.AuthToken))
	}
	msg := printers.Redact(st.Message(), s.opts.AuthToken)
	switch st.Code() {
	case codes.Unauthenticated:
		return fmt.Errorf("Argo CD at %s refused the token (401 Unauthenticated): %s", s.opts.Server, msg)
	case codes.PermissionDenied:
		return fmt.Errorf("Argo CD at %s denied the request (403 PermissionDenied: check Argo CD RBAC): %s: %w", s.opts.Server, msg, argocd.ErrPermissionDenied)
	case codes.NotFound:
		return fmt.Errorf("Argo CD at %s: %s", s.opts.Server, msg)
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("cannot reach the Argo CD server at %s (%s): %s", s.opts.Server, st.Code(), msg)
	}
	return fmt.Errorf("Argo CD at %s: %s: %s", s.opts.Server, st.Code(), msg)
}

// watch opens a stream with open and reads it with the next it returns until
// next says done; a stream lost with its connection is opened again (with
// backoff) until ctx ends. Each opening starts from the server's current
// state, so nothing is missed between two streams. open's context ends with
// the attempt: a stream read to done or abandoned is closed, on the server
// too, not left open until ctx ends.
func (s *Client) watch(ctx context.Context, doing string, open func(context.Context, applicationpkg.ApplicationServiceClient) (next func() (bool, error), err error)) error {
	return s.retry(ctx, doing, true, func() error {
		apps, err := s.applications(ctx)
		if err != nil {
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		next, err := open(sctx, apps)
		if err != nil {
			return err
		}
		for {
			done, err := next()
			if err != nil || done {
				return err
			}
		}
	})
}

// timedOut says whether a call ended by its own request timeout: gRPC's
// deadline timer can end the call a moment before the context says so.
func timedOut(cctx context.Context, err error) bool {
	return cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded
}
