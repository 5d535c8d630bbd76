// Package server is the argocd.Syncer over Argo CD's own API (gRPC or gRPC-web,
// bearer token): server mode, for users behind SSO with Argo CD RBAC but no
// Kubernetes write access. Only kubectl-costgate imports it, so the other plugins
// do not carry the Argo CD client.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apiclient"
	accountpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/account"
	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/localconfig"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// Options say how to reach Argo CD, like the argocd CLI's flags.
type Options struct {
	Server          string // host:port; "" for the argocd CLI config's context
	AuthToken       string // never printed
	GRPCWeb         bool
	GRPCWebRootPath string
	Insecure        bool   // skip TLS verification
	PlainText       bool   // no TLS at all
	Context         string // the argocd CLI config's context ("" for its current one)
	ConfigPath      string // the argocd CLI config ("" for the default)
	UserAgent       string
	ServerFlag      string // the running CLI's flag for Server, for messages (default --server)
}

// Syncer syncs through the Argo CD API.
type Syncer struct {
	opts   Options
	client apiclient.Client

	// One connection per service, dialled on first use and kept for the
	// command: apiclient dials anew for every client it hands out (with
	// --grpc-web it also starts a local proxy), and a verb makes tens of calls.
	mu   sync.Mutex
	apps applicationpkg.ApplicationServiceClient
	acc  accountpkg.AccountServiceClient
}

func (s *Syncer) applications() (applicationpkg.ApplicationServiceClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps == nil {
		_, apps, err := s.client.NewApplicationClient() // closed with the process
		if err != nil {
			return nil, s.explain(err)
		}
		s.apps = apps
	}
	return s.apps, nil
}

func (s *Syncer) account() (accountpkg.AccountServiceClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acc == nil {
		_, acc, err := s.client.NewAccountClient() // closed with the process
		if err != nil {
			return nil, s.explain(err)
		}
		s.acc = acc
	}
	return s.acc, nil
}

// New connects (lazily) to the Argo CD API. Without a token it uses the argocd
// CLI's config file (~/.config/argocd/config), as the CLI does.
func New(opts Options) (*Syncer, error) {
	co := &apiclient.ClientOptions{
		ServerAddr: opts.Server, AuthToken: opts.AuthToken, GRPCWeb: opts.GRPCWeb, GRPCWebRootPath: opts.GRPCWebRootPath,
		Insecure: opts.Insecure, PlainText: opts.PlainText, Context: opts.Context, UserAgent: opts.UserAgent,
	}
	if opts.ServerFlag == "" {
		opts.ServerFlag = "--server"
	}
	if co.UserAgent == "" {
		co.UserAgent = "kubectl-costgate"
	}
	// Like the argocd CLI: what the flags and ARGOCD_* leave open comes from
	// the config `argocd login` wrote, when there is one.
	path := opts.ConfigPath
	if path == "" {
		if p, err := localconfig.DefaultLocalConfigPath(); err == nil {
			path = p
		}
	}
	if _, err := os.Stat(path); err == nil && path != "" {
		co.ConfigPath = path
	} else if opts.ConfigPath != "" {
		return nil, fmt.Errorf("argocd config %s: %v", opts.ConfigPath, err)
	}
	if co.ConfigPath == "" && (opts.AuthToken == "" || opts.Server == "") {
		return nil, fmt.Errorf("no Argo CD server or token: pass %s and --auth-token (or ARGOCD_SERVER and ARGOCD_AUTH_TOKEN), or run `argocd login` first", opts.ServerFlag)
	}
	client, err := apiclient.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("Argo CD client for %s: %s", printers.Dash(opts.Server), printers.Redact(err.Error(), opts.AuthToken))
	}
	if opts.Server == "" {
		opts.Server = "the argocd CLI config's server"
	}
	return &Syncer{opts: opts, client: client}, nil
}

// Sync asks Argo CD to sync app with the spec's syncOptions and retry, refusing
// when an operation is running, then watches it until the operation ends and
// reads the app with a hard refresh, so health is not the stale pre-sync one.
func (s *Syncer) Sync(ctx context.Context, name string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	apps, err := s.applications()
	if err != nil {
		return nil, err
	}
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

// Application reads an Application through the API (Argo CD RBAC:
// applications, get).
func (s *Syncer) Application(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	apps, err := s.applications()
	if err != nil {
		return nil, err
	}
	app, err := apps.Get(ctx, &applicationpkg.ApplicationQuery{Name: &name})
	if status.Code(err) == codes.NotFound {
		return nil, apierrors.NewNotFound(applications, name)
	}
	if err != nil {
		return nil, s.explain(err)
	}
	return toUnstructured(app)
}

// AnnotateApplication merges annotations into an Application's metadata (a
// nil value removes one; Argo CD RBAC: applications, update).
func (s *Syncer) AnnotateApplication(ctx context.Context, name string, annotations map[string]any) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	merge := "merge"
	p := string(patch)
	if _, err := apps.Patch(ctx, &applicationpkg.ApplicationPatchRequest{Name: &name, Patch: &p, PatchType: &merge}); err != nil {
		return s.explain(err)
	}
	return nil
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
		return fmt.Errorf("Argo CD at %s denied the request (403 PermissionDenied: check Argo CD RBAC): %s: %w", s.opts.Server, msg, costgate.ErrPermissionDenied)
	case codes.NotFound:
		return fmt.Errorf("Argo CD at %s: %s", s.opts.Server, msg)
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("cannot reach the Argo CD server at %s (%s): %s", s.opts.Server, st.Code(), msg)
	}
	return fmt.Errorf("Argo CD at %s: %s: %s", s.opts.Server, st.Code(), msg)
}
