package costgate

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
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
Server mode goes through Argo CD's API when --argocd-server is given (the address may not
come from ARGOCD_SERVER alone: kubectl costgate stays on the Kubernetes API unless told),
with a token from --auth-token, ARGOCD_AUTH_TOKEN or the argocd CLI's config.`,
		Example: `  kubectl costgate sync raw-vllm --env ai-dev
  ARGOCD_AUTH_TOKEN=... kubectl costgate sync n8n --argocd-server argocd.example.com --env ai-dev`,
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
	s, app, err := o.openApp(ctx, o.App)
	if err != nil {
		return err
	}
	opens := false
	if app.Gate.Kind == platform.GateSync {
		live, err := s.gates.Application(ctx, app)
		if err != nil {
			return err
		}
		opens = costgate.SyncGateState(argocd.StatusOf(live)) == costgate.StateDown
	}
	fmt.Fprintf(o.ErrOut, "%s: syncing (%s mode)\n", app.Name, s.gates.Backend.Mode())
	result, err := s.gates.Backend.Sync(ctx, app.Name, syncProgress(o.ErrOut, app.Name))
	if err != nil {
		return err
	}
	if opens && result.Succeeded() {
		who, err := s.gates.Backend.WhoAmI(ctx)
		if err != nil {
			fmt.Fprintf(o.ErrOut, "warning: not recording who opened %s: %v\n", app.Name, err)
		}
		if err := s.gates.MarkOpened(ctx, app, costgate.OpenOptions{By: who}); err != nil {
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

// syncProgress prints a sync's progress to w, a line each time it changes.
func syncProgress(w io.Writer, app string) func(argocd.AppStatus) {
	last := ""
	return func(st argocd.AppStatus) {
		line := fmt.Sprintf("%s: %s %s", app, printers.Dash(st.Sync), printers.Dash(st.Health))
		if st.OperationPhase != "" {
			line += ", operation " + st.OperationPhase
		}
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
	}
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
