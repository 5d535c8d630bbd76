package costgate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// DownOptions closes one gate or all open ones.
type DownOptions struct {
	*common
	App     string
	All     bool
	Timeout time.Duration
	Wait    bool
}

func newCmdDown(c *common) *cobra.Command {
	o := &DownOptions{common: c}
	cmd := &cobra.Command{
		Use:   "down (APP | --all)",
		Short: "Close a gate (scale to 0 remembering the count, or pause KServe) and wait until its pods are gone",
		Example: `  kubectl costgate down raw-vllm --env ai-dev
  # Every open gate of the environment, e.g. at the end of the day
  kubectl costgate down --all --env ai-dev`,
		ValidArgsFunction: c.envFlags.CompleteFirstArg(cli.GatedApps(platform.GateScale, platform.GatePause)),
		Args: func(cmd *cobra.Command, args []string) error {
			if o.All == (len(args) == 1) || len(args) > 1 {
				return fmt.Errorf("down takes one APP or --all")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.App = args[0]
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout must be positive")
			}
			return o.Run(context.Background())
		},
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "Close every open gate of the environment")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Minute, "How long to wait for the pods to go")
	cmd.Flags().BoolVar(&o.Wait, "wait", true, "Wait until the pods are gone")
	return cmd
}

// Run closes.
func (o *DownOptions) Run(ctx context.Context) error {
	s, err := o.open(ctx)
	if err != nil {
		return err
	}
	var apps []platform.App
	if o.All {
		live, err := readLive(ctx, s)
		if err != nil {
			return err
		}
		gated := costgate.Gated(s.env)
		for i, st := range costgate.Observe(gated, live, time.Now()) {
			if gated[i].Gate.Kind != platform.GateSync && (st.State == costgate.StateUp || st.State == costgate.StateStarting) {
				apps = append(apps, gated[i])
			}
		}
		if len(apps) == 0 {
			fmt.Fprintln(o.Out, "no open gates")
			return nil
		}
	} else {
		app, err := costgate.Find(s.env, o.App)
		if err != nil {
			return err
		}
		if app.Gate.Kind == platform.GateSync {
			return fmt.Errorf("%s is a sync gate: nothing to scale down (a profile without layer %s removes it)", app.Name, app.Layer)
		}
		apps = []platform.App{app}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return closeGates(ctx, o.common, s, apps, o.Wait)
}

// closeGates closes each gate, then waits for all their pods to go.
func closeGates(ctx context.Context, c *common, s *session, apps []platform.App, wait bool) error {
	for _, app := range apps {
		ch, err := s.gates.Close(ctx, app)
		if err != nil {
			return err
		}
		report(c, ch)
	}
	if !wait {
		return nil
	}
	for _, app := range apps {
		if err := s.gates.WaitClosed(ctx, app, func(msg string) { fmt.Fprintf(c.ErrOut, "%s: %s\n", app.Name, msg) }); err != nil {
			return fmt.Errorf("%s is closed but its pods are still there: %w", app.Name, err)
		}
		fmt.Fprintf(c.Out, "%s: down\n", app.Name)
	}
	return nil
}
