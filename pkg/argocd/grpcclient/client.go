package grpcclient

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient"
	accountpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/account"
	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	sessionpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/session"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/connection"
)

// Options say how to reach Argo CD: read once for both Argo CD clients.
type Options = connection.Settings

// Client talks to one Argo CD API server.
type Client struct {
	opts     Options
	co       *apiclient.ClientOptions
	client   apiclient.Client
	answered bool // a call succeeded: a connection lost later is made again

	// One connection per service, dialled on first use and kept for the
	// command: apiclient dials anew for every client it hands out (with
	// --grpc-web it also starts a local proxy), and a verb makes tens of calls.
	mu   sync.Mutex
	apps applicationpkg.ApplicationServiceClient
	acc  accountpkg.AccountServiceClient
	sess sessionpkg.SessionServiceClient
}

// New resolves the server and token (flags, ARGOCD_*, then the argocd
// CLI's config, as the CLI reads them) and returns a client that connects on
// its first call.
func New(opts Options, getenv func(string) string) (*Client, error) {
	opts, err := opts.Resolve(getenv)
	if err != nil {
		return nil, err
	}
	co := &apiclient.ClientOptions{
		ServerAddr: opts.Server, AuthToken: opts.AuthToken, GRPCWeb: opts.GRPCWeb, GRPCWebRootPath: opts.GRPCWebRootPath,
		Insecure: opts.Insecure, PlainText: opts.PlainText, UserAgent: opts.UserAgent,
	}
	if co.UserAgent == "" {
		co.UserAgent = "kubectl-costgate"
	}
	if opts.TokenFromConfig {
		// The argo-cd client reads the same context's token itself, and
		// refreshes an expired SSO token the way the argocd CLI does.
		co.AuthToken, co.ConfigPath, co.Context = "", opts.ConfigRead, opts.Context
	}
	return &Client{opts: opts, co: co}, nil
}

// Settings are what the client was resolved to.
func (s *Client) Settings() connection.Settings { return s.opts }

// Sync asks Argo CD to sync app with the spec's syncOptions and retry, refusing
// when an operation is running, then watches it until the operation ends and
// reads the app with a hard refresh, so health is not the stale pre-sync one.
// The sync request is made once; the watch is opened again when the
// connection is lost (the server restarting) until ctx ends.
func (s *Client) Sync(ctx context.Context, name string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	var app *v1alpha1.Application
	err := s.call(ctx, "reading "+name, true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (err error) {
		app, err = apps.Get(ctx, &applicationpkg.ApplicationQuery{Name: &name})
		return err
	})
	if err != nil {
		return nil, err
	}
	if app.Operation != nil {
		by := app.Operation.InitiatedBy.Username
		return nil, fmt.Errorf("an operation is already running on %s (initiated by %q): wait for it, or argocd app terminate-op %s", name, by, name)
	}
	req := &applicationpkg.ApplicationSyncRequest{Name: &name}
	if rev := app.Spec.GetSource().TargetRevision; rev != "" {
		req.Revision = &rev
	}
	if p := app.Spec.SyncPolicy; p != nil {
		if len(p.SyncOptions) > 0 {
			req.SyncOptions = &applicationpkg.SyncOptions{Items: p.SyncOptions}
		}
		req.RetryStrategy = p.Retry
	}
	startedAt := time.Now().Add(-time.Second).Truncate(time.Second)
	err = s.call(ctx, "asking for a sync of "+name, false, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) error {
		_, err := apps.Sync(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	requested := time.Now()
	var result *argocd.SyncResult
	err = s.watch(ctx, "watching the sync of "+name, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (func() (bool, error), error) {
		stream, err := apps.Watch(ctx, &applicationpkg.ApplicationQuery{Name: &name})
		if err != nil {
			return nil, err
		}
		return func() (bool, error) {
			ev, err := stream.Recv()
			if err != nil {
				return false, err
			}
			u, err := toUnstructured(&ev.Application)
			if err != nil {
				return false, &permanent{err}
			}
			if progress != nil {
				progress(argocd.StatusOf(u))
			}
			r, _, done := argocd.Finished(u, startedAt)
			result = r
			return done, nil
		}, nil
	})
	if err != nil && ctx.Err() != nil {
		// Our --timeout or an interrupt ended the watch, not Argo CD.
		return nil, fmt.Errorf("sync of %s did not finish within %s: the operation goes on in Argo CD (argocd app get %s): %w",
			name, time.Since(requested).Round(time.Second), name, context.Cause(ctx))
	}
	if err != nil {
		return nil, fmt.Errorf("the sync of %s was asked for and goes on in Argo CD, but %w", name, err)
	}
	hard := "hard"
	var refreshed *v1alpha1.Application
	err = s.call(ctx, "reading "+name, true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (err error) {
		refreshed, err = apps.Get(ctx, &applicationpkg.ApplicationQuery{Name: &name, Refresh: &hard})
		return err
	})
	if err != nil {
		return nil, err
	}
	result.Sync = string(refreshed.Status.Sync.Status)
	result.Health = string(refreshed.Status.Health.Status)
	return result, nil
}

// Application reads an Application through the API (Argo CD RBAC:
// applications, get).
func (s *Client) Application(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	var app *v1alpha1.Application
	notFound := false
	err := s.call(ctx, "reading "+name, true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (err error) {
		app, err = apps.Get(ctx, &applicationpkg.ApplicationQuery{Name: &name})
		if status.Code(err) == codes.NotFound {
			notFound = true
		}
		return err
	})
	if notFound {
		return nil, apierrors.NewNotFound(applications, name)
	}
	if err != nil {
		return nil, err
	}
	return toUnstructured(app)
}

// AnnotateApplication merges annotations into an Application's metadata (a
// nil value removes one; Argo CD RBAC: applications, update). Made again on
// a new connection: the same merge patch twice is the same result.
func (s *Client) AnnotateApplication(ctx context.Context, name string, annotations map[string]any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	merge := "merge"
	p := string(patch)
	return s.call(ctx, "annotating "+name, true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) error {
		_, err := apps.Patch(ctx, &applicationpkg.ApplicationPatchRequest{Name: &name, Patch: &p, PatchType: &merge})
		return err
	})
}

func toUnstructured(app *v1alpha1.Application) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}
