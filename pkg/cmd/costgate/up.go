package costgate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// UpOptions opens a gate.
type UpOptions struct {
	*common
	App      string
	Replicas int32
	Timeout  time.Duration
	Wait     bool
}

func newCmdUp(c *common) *cobra.Command {
	o := &UpOptions{common: c}
	cmd := &cobra.Command{
		Use:   "up APP",
		Short: "Open a gate: sync if needed, scale up (or resume KServe), and wait until it serves",
		Long: `Syncs the app first when it is not deployed or out of sync, then opens the gate with one
write (field manager kubectl-costgate): a scale gate's Deployment goes to --replicas, else
to the count remembered at the last down, else the gate's replicas annotation; a pause
gate's InferenceService loses serving.kserve.io/stop. Then it waits, saying what it waits
on (pods Pending and why, image pulls, Ready).

It refuses an unsafe gate before writing anything: a Deployment whose replicas Argo CD
does not ignore (ignoreDifferences on /spec/replicas and RespectIgnoreDifferences=true), or
one a KEDA ScaledObject scales and is not paused.`,
		Example: `  kubectl costgate up raw-vllm --env ai-dev
  kubectl costgate up coder-chat --replicas 2 --timeout 30m --env ai-dev`,
		Args:              appArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.GatedApps(platform.GateScale, platform.GatePause)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.App = args[0]
			if o.Replicas < 0 || o.Timeout <= 0 {
				return fmt.Errorf("--replicas must not be negative and --timeout must be positive")
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Int32Var(&o.Replicas, "replicas", 0, "Replicas to scale to (default: the count at the last down, else the gate's)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 15*time.Minute, "How long to wait for the workload")
	cmd.Flags().BoolVar(&o.Wait, "wait", true, "Wait until the workload is ready")
	return cmd
}

// Run opens the gate.
func (o *UpOptions) Run(ctx context.Context) error {
	s, app, err := o.openApp(ctx, o.App)
	if err != nil {
		return err
	}
	if app.Gate.Kind == platform.GateSync {
		return fmt.Errorf("%s is a sync gate: open it with kubectl costgate sync %s", app.Name, app.Name)
	}
	if o.Replicas > 0 && app.Gate.Kind != platform.GateScale {
		return fmt.Errorf("--replicas: %s is a %s gate, it has no replicas", app.Name, app.Gate.Kind)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	liveApp, err := s.client.Resource(kube.Applications, s.env.Config.Namespace).Get(ctx, app.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("Application %s does not exist: apply a profile that holds layer %s (kubectl profile apply)", app.Name, app.Layer)
	}
	if err != nil {
		return s.client.Explain(err, kube.Applications)
	}
	if err := s.gates.CheckSafe(ctx, app, liveApp); err != nil {
		return err
	}
	if st := argocd.StatusOf(liveApp); st.Sync != argocd.Synced || st.Health == argocd.Missing {
		fmt.Fprintf(o.ErrOut, "%s: %s/%s, syncing first\n", app.Name, printers.Dash(st.Sync), printers.Dash(st.Health))
		result, err := syncApp(ctx, o.common, s, app.Name)
		if err != nil {
			return err
		}
		if !result.Succeeded() {
			printResult(o.ErrOut, result)
			return fmt.Errorf("sync of %s %s: %s", app.Name, result.Phase, result.Message)
		}
	}
	ch, err := s.gates.Open(ctx, app, o.Replicas)
	if err != nil {
		return err
	}
	report(o.common, ch)
	if !o.Wait {
		return nil
	}
	start := time.Now()
	if err := s.gates.WaitOpen(ctx, app, func(msg string) {
		fmt.Fprintf(o.ErrOut, "%s: %s (%s)\n", app.Name, msg, time.Since(start).Round(time.Second))
	}); err != nil {
		return fmt.Errorf("%s is open but not ready: %w", app.Name, err)
	}
	fmt.Fprintf(o.Out, "%s: up, costs $%.2f per hour\n", app.Name, app.Gate.CostPerHour)
	return nil
}

func report(c *common, ch costgate.Change) {
	if !ch.Changed {
		fmt.Fprintf(c.Out, "%s: %s already %s\n", ch.App, ch.Target, ch.To)
		return
	}
	fmt.Fprintf(c.Out, "%s: %s %s -> %s\n", ch.App, ch.Target, ch.From, ch.To)
}
