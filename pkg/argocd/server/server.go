// Package server is the argocd.Syncer over Argo CD's own API (gRPC or gRPC-web,
// bearer token): server mode, for users behind SSO with Argo CD RBAC but no
// Kubernetes write access. Only kubectl-costgate imports it, so the other plugins
// do not carry the Argo CD client.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient"
	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/localconfig"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// Options say how to reach Argo CD, like the argocd CLI's flags.
type Options struct {
	Server    string // host:port
	AuthToken string // never printed
	GRPCWeb   bool
	Insecure  bool // skip TLS verification
	PlainText bool // no TLS at all
}

// Syncer syncs through the Argo CD API.
type Syncer struct {
	opts   Options
	client apiclient.Client
}

// New connects (lazily) to the Argo CD API. Without a token it uses the argocd
// CLI's config file (~/.config/argocd/config), as the CLI does.
func New(opts Options) (*Syncer, error) {
	co := &apiclient.ClientOptions{
		ServerAddr: opts.Server, AuthToken: opts.AuthToken, GRPCWeb: opts.GRPCWeb,
		Insecure: opts.Insecure, PlainText: opts.PlainText, UserAgent: "kubectl-costgate",
	}
	if opts.AuthToken == "" {
		if path, err := localconfig.DefaultLocalConfigPath(); err == nil {
			if _, err := os.Stat(path); err == nil {
				co.ConfigPath = path
			}
		}
		if co.ConfigPath == "" {
			return nil, fmt.Errorf("server mode needs a token: --auth-token, ARGOCD_AUTH_TOKEN, or `argocd login %s`", opts.Server)
		}
	}
	client, err := apiclient.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("Argo CD client for %s: %s", opts.Server, printers.Redact(err.Error(), opts.AuthToken))
	}
	return &Syncer{opts: opts, client: client}, nil
}

// Sync asks Argo CD to sync app with the spec's syncOptions and retry, refusing
// when an operation is running, then watches it until the operation ends and
// reads the app with a hard refresh, so health is not the stale pre-sync one.
func (s *Syncer) Sync(ctx context.Context, name string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	closer, apps, err := s.client.NewApplicationClient()
	if err != nil {
		return nil, s.explain(err)
	}
	defer closer.Close()
	getCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	app, err := apps.Get(getCtx, &applicationpkg.ApplicationQuery{Name: &name})
	cancel()
	if err != nil {
		return nil, s.explain(err)
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
	if _, err := apps.Sync(ctx, req); err != nil {
		return nil, s.explain(err)
	}
	stream, err := apps.Watch(ctx, &applicationpkg.ApplicationQuery{Name: &name})
	if err != nil {
		return nil, s.explain(err)
	}
	requested := time.Now()
	for {
		ev, err := stream.Recv()
		if err != nil && ctx.Err() != nil {
			// Our --timeout or an interrupt ended the watch, not Argo CD.
			return nil, fmt.Errorf("sync of %s did not finish within %s: the operation goes on in Argo CD (argocd app get %s): %w",
				name, time.Since(requested).Round(time.Second), name, ctx.Err())
		}
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("Argo CD closed the watch of %s before the sync finished", name)
		}
		if err != nil {
			return nil, s.explain(err)
		}
		u, err := toUnstructured(&ev.Application)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(argocd.StatusOf(u))
		}
		result, _, done := argocd.Finished(u, startedAt)
		if !done {
			continue
		}
		hard := "hard"
		refreshed, err := apps.Get(ctx, &applicationpkg.ApplicationQuery{Name: &name, Refresh: &hard})
		if err != nil {
			return nil, s.explain(err)
		}
		result.Sync = string(refreshed.Status.Sync.Status)
		result.Health = string(refreshed.Status.Health.Status)
		return result, nil
	}
}

func toUnstructured(app *v1alpha1.Application) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// explain turns gRPC errors into what went wrong for the user, without the token.
func (s *Syncer) explain(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("cannot reach the Argo CD server at %s: %s", s.opts.Server, printers.Redact(err.Error(), s.opts.AuthToken))
	}
	msg := printers.Redact(st.Message(), s.opts.AuthToken)
	switch st.Code() {
	case codes.Unauthenticated:
		return fmt.Errorf("Argo CD at %s refused the token (401 Unauthenticated): %s", s.opts.Server, msg)
	case codes.PermissionDenied:
		return fmt.Errorf("Argo CD at %s denied the request (403 PermissionDenied: check Argo CD RBAC): %s", s.opts.Server, msg)
	case codes.NotFound:
		return fmt.Errorf("Argo CD at %s: %s", s.opts.Server, msg)
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("cannot reach the Argo CD server at %s (%s): %s", s.opts.Server, st.Code(), msg)
	}
	return fmt.Errorf("Argo CD at %s: %s: %s", s.opts.Server, st.Code(), msg)
}
