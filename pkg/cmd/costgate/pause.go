package costgate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// PauseOptions sets or removes serving.kserve.io/stop on a pause gate.
type PauseOptions struct {
	*common
	App     string
	Resume  bool
	Wait    bool
	Timeout time.Duration
}

func newCmdPause(c *common) *cobra.Command {
	return newPauseCmd(c, false, "pause APP", "Pause a KServe gate: annotate its InferenceService serving.kserve.io/stop=true",
		`  kubectl costgate pause kserve-demo --env ai-dev`)
}

// pauseGate finds a pause gate, or says which verbs fit the gate it is.
func pauseGate(env *platform.Env, name string) (platform.App, error) {
	app, err := costgate.Find(env, name)
	if err != nil {
		return app, err
	}
	if app.Gate.Kind != platform.GatePause {
		return app, fmt.Errorf("%s is a %s gate, not a pause gate: use %s up/down %s", app.Name, app.Gate.Kind, env.Host.Cmd("costgate"), app.Name)
	}
	return app, nil
}

func newPauseCmd(c *common, resume bool, use, short, example string) *cobra.Command {
	o := &PauseOptions{common: c, Resume: resume}
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Example:           example,
		Args:              appArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.GatedApps(platform.GatePause)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.App = args[0]
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "Wait until the InferenceService is Ready (resume) or its pods are gone (pause)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 15*time.Minute, "How long --wait waits")
	return cmd
}

// Run pauses or resumes.
func (o *PauseOptions) Run(ctx context.Context) error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	app, err := pauseGate(env, o.App)
	if err != nil {
		return err
	}
	s, err := o.connect(ctx, env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if !o.Resume {
		return closeGates(ctx, o.common, s, []platform.App{app}, o.Wait, "pause")
	}
	if err := s.gates.Authorize(ctx, costgate.GatePermissions(s.gates.Namespace, app, o.Wait)); err != nil {
		return fmt.Errorf("refusing to resume %s, nothing changed: %w", app.Name, err)
	}
	ch, err := s.gates.Open(ctx, app, costgate.OpenOptions{})
	if err != nil {
		if cli.Interrupted(ctx) {
			return fmt.Errorf("interrupted before %s was resumed: nothing changed", app.Name)
		}
		return err
	}
	report(o.common, ch)
	if !o.Wait {
		return nil
	}
	say, stop := printers.StatusLines(o.ErrOut, func(msg string) string { return app.Name + ": " + msg })
	err = s.gates.WaitOpen(ctx, app, say)
	stop()
	if err != nil && cli.Interrupted(ctx) {
		return fmt.Errorf("interrupted after resuming %s while waiting for the InferenceService to be Ready: the gate is open; run %s pause %s to close it", app.Name, o.Display(), app.Name)
	}
	return err
}
