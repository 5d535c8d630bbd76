package costgate

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/server"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// SyncOptions syncs a gated app on demand.
type SyncOptions struct {
	*common
	App     string
	Timeout time.Duration
	Output  string
}

func newCmdSync(c *common) *cobra.Command {
	o := &SyncOptions{common: c}
	cmd := &cobra.Command{
		Use:   "sync APP",
		Short: "Sync a gated app now and print the operation's result",
		Long: `Starts a manual sync of a gated Application and waits for the operation to finish,
then prints its phase, message and the resources it changed.

Core mode (default) goes through the Kubernetes API like argocd --core: it sets
.operation with the spec's syncOptions and retry copied in, refuses when an operation is
already running, and trusts health only after a reconciliation observed after the
operation (it asks for a hard refresh so that one comes soon). The first sync that
deploys a sync gate records when it opened (annotation costgate.aidev.io/opened-at).
Server mode goes through Argo CD's API when --argocd-server or ARGOCD_SERVER is set, with a
token from --auth-token, ARGOCD_AUTH_TOKEN or the argocd CLI's config.`,
		Example: `  kubectl costgate sync raw-vllm --env ai-dev
  ARGOCD_SERVER=argocd.example.com ARGOCD_AUTH_TOKEN=... kubectl costgate sync n8n --env ai-dev`,
		Args:              appArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.GatedApps()),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.App = args[0]
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout must be positive")
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Minute, "How long the sync may take")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format for the result: json or yaml")
	return cmd
}

// Run syncs. A sync gate that was down and is now deployed gets its opened-at
// recorded, so `list` counts "up for" from here and not from the last re-sync.
func (o *SyncOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	srv, serverMode, err := o.argoCD()
	if err != nil {
		return err
	}
	var (
		app     platform.App
		syncer  argocd.Syncer
		access  appAccess
		mode    = "core"
		session *session
	)
	if serverMode {
		// Argo CD's API alone: no Kubernetes credentials are needed.
		if _, app, err = o.gate(o.App); err != nil {
			return err
		}
		syncer, access, mode = srv, serverApps{srv, o.Now}, "server"
	} else {
		if session, app, err = o.openApp(ctx, o.App); err != nil {
			return err
		}
		if syncer, mode, err = o.syncer(session); err != nil {
			return err
		}
		access = session.gates
	}
	opens := false
	if app.Gate.Kind == platform.GateSync {
		live, err := access.Application(ctx, app)
		if err != nil {
			return err
		}
		opens = costgate.SyncGateState(argocd.StatusOf(live)) == costgate.StateDown
	}
	result, err := syncWith(ctx, o.common, syncer, mode, app.Name)
	if err != nil {
		return err
	}
	if opens && result.Succeeded() {
		if err := access.MarkOpened(ctx, app); err != nil {
			fmt.Fprintf(o.ErrOut, "warning: %v\n", err)
		}
	}
	if o.Output != "" {
		if err := printers.Data(o.Out, o.Output, result); err != nil {
			return err
		}
	} else {
		printResult(o.Out, result)
	}
	if !result.Succeeded() {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("sync of %s %s: %s", result.App, result.Phase, result.Message)}
	}
	return nil
}

// appAccess reads a gate's Application and records when it opened: through the
// Kubernetes API (costgate.Gates) or Argo CD's (serverApps).
type appAccess interface {
	Application(ctx context.Context, app platform.App) (*unstructured.Unstructured, error)
	MarkOpened(ctx context.Context, app platform.App) error
}

// serverApps is appAccess over Argo CD's API.
type serverApps struct {
	srv *server.Syncer
	now func() time.Time
}

func (s serverApps) Application(ctx context.Context, app platform.App) (*unstructured.Unstructured, error) {
	return s.srv.Application(ctx, app.Name)
}

func (s serverApps) MarkOpened(ctx context.Context, app platform.App) error {
	if err := s.srv.Annotate(ctx, app.Name, map[string]any{costgate.OpenedAtAnnotation: s.now().UTC().Format(time.RFC3339)}); err != nil {
		return fmt.Errorf("recording when %s was opened: %w", app.Name, err)
	}
	return nil
}

// syncWith syncs through syncer, printing progress to stderr.
func syncWith(ctx context.Context, c *common, syncer argocd.Syncer, mode, app string) (*argocd.SyncResult, error) {
	fmt.Fprintf(c.ErrOut, "%s: syncing (%s mode)\n", app, mode)
	last := ""
	return syncer.Sync(ctx, app, func(st argocd.AppStatus) {
		line := fmt.Sprintf("%s: %s %s", app, printers.Dash(st.Sync), printers.Dash(st.Health))
		if st.OperationPhase != "" {
			line += ", operation " + st.OperationPhase
		}
		if line != last {
			fmt.Fprintln(c.ErrOut, line)
			last = line
		}
	})
}

func printResult(out io.Writer, r *argocd.SyncResult) {
	fmt.Fprintf(out, "sync %s: %s", r.App, r.Phase)
	if r.Revision != "" {
		fmt.Fprintf(out, " at %.12s", r.Revision)
	}
	fmt.Fprintf(out, ": %s\n", r.Message)
	fmt.Fprintf(out, "now %s and %s\n", printers.Dash(r.Sync), printers.Dash(r.Health))
	if len(r.Resources) == 0 {
		return
	}
	rows := make([][]string, 0, len(r.Resources))
	for _, res := range r.Resources {
		rows = append(rows, []string{res.Kind, printers.Dash(res.Namespace), res.Name, res.Status, res.Message})
	}
	_ = printers.Table(out, []string{"KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE"}, rows)
}
