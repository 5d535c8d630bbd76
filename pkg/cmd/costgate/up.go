package costgate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// UpOptions opens a gate.
type UpOptions struct {
	*common
	App      string
	Replicas int32
	Force    bool
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
gate's InferenceService loses serving.kserve.io/stop. A gate already open stays at its
count unless --replicas says otherwise. Then it waits, saying what it waits on (pods
Pending and why, image pulls, Ready).

It refuses before writing anything: a count above the gate's maximum
(costgate.aidev.io/max-replicas, default 8) without --force; a Deployment whose replicas
Argo CD does not ignore (ignoreDifferences on /spec/replicas and
RespectIgnoreDifferences=true), or one a KEDA ScaledObject scales and is not paused; and a
user who may not make every write and watch it needs (asked with SelfSubjectAccessReviews).

Interrupted (Ctrl-C), it says what it had done; the same up, run again, finishes.`,
		Example: `  kubectl costgate up raw-vllm --env ai-dev
  kubectl costgate up coder-chat --replicas 2 --timeout 30m --env ai-dev`,
		Args:              appArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.GatedApps(platform.GateScale, platform.GatePause)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.App = args[0]
			switch {
			case cmd.Flags().Changed("replicas") && o.Replicas == 0:
				return fmt.Errorf("--replicas 0 would close the gate: use kubectl costgate down %s", o.App)
			case o.Replicas < 0:
				return fmt.Errorf("--replicas %d: must be a positive count", o.Replicas)
			case o.Timeout <= 0:
				return fmt.Errorf("--timeout %s: must be positive", o.Timeout)
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Int32Var(&o.Replicas, "replicas", 0, "Replicas to scale to (default: an open gate keeps its count; a closed one gets the count at the last down, else the gate's)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "Allow a count above the gate's maximum (annotation costgate.aidev.io/max-replicas)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 15*time.Minute, "How long to wait for the workload")
	cmd.Flags().BoolVar(&o.Wait, "wait", true, "Wait until the workload is ready")
	return cmd
}

// Run opens the gate. Everything that needs no cluster is checked first, then
// everything that needs no write (the live app, the gate's safety, the
// permissions), so a refused up has changed nothing.
func (o *UpOptions) Run(ctx context.Context) error {
	env, app, err := o.gate(o.App)
	if err != nil {
		return err
	}
	if app.Gate.Kind == platform.GateSync {
		return fmt.Errorf("%s is a sync gate: open it with kubectl costgate sync %s", app.Name, app.Name)
	}
	if o.Replicas > 0 && app.Gate.Kind != platform.GateScale {
		return fmt.Errorf("--replicas: %s is a %s gate, it has no replicas", app.Name, app.Gate.Kind)
	}
	if o.Replicas > 0 {
		if err := costgate.CheckReplicas(app, int64(o.Replicas), fmt.Sprintf("--replicas %d", o.Replicas), o.Force); err != nil {
			return err
		}
	}
	s, err := o.connect(ctx, env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	liveApp, err := s.gates.Application(ctx, app)
	if err != nil {
		return err
	}
	st := argocd.StatusOf(liveApp)
	needSync := st.Sync != argocd.Synced || st.Health == argocd.Missing
	perms := costgate.GatePermissions(app, o.Wait)
	syncer, mode := s.syncer()
	if needSync {
		// Checked where the sync is authorized: the Kubernetes API in core
		// mode, Argo CD's RBAC in server mode.
		perms = append(costgate.SyncPermissions(s.env.Config.Namespace, app), perms...)
	}
	// Every permission first, so a user who lacks several learns all of them at
	// once; then the safety reads (which need some of them).
	if err := s.gates.Authorize(ctx, perms); err != nil {
		return fmt.Errorf("refusing to open %s, nothing changed: %w", app.Name, err)
	}
	if err := s.gates.CheckSafe(ctx, app, liveApp); err != nil {
		return err
	}

	if needSync {
		fmt.Fprintf(o.ErrOut, "%s: %s/%s, syncing first\n", app.Name, printers.Dash(st.Sync), printers.Dash(st.Health))
		result, err := syncWith(ctx, o.common, syncer, mode, app.Name)
		if err != nil {
			if cli.Interrupted(ctx) {
				return fmt.Errorf("interrupted while syncing %s: the sync goes on in Argo CD and the gate is not open yet; run the same up again to finish", app.Name)
			}
			return err
		}
		if !result.Succeeded() {
			printResult(o.ErrOut, result)
			return fmt.Errorf("sync of %s %s: %s", app.Name, result.Phase, result.Message)
		}
	}
	ch, err := s.gates.Open(ctx, app, costgate.OpenOptions{Replicas: o.Replicas, Force: o.Force})
	if err != nil {
		switch {
		case cli.Interrupted(ctx) && needSync:
			return fmt.Errorf("interrupted after syncing %s; the gate is not open yet: run the same up again to finish", app.Name)
		case cli.Interrupted(ctx):
			return fmt.Errorf("interrupted before %s was opened: nothing changed", app.Name)
		}
		return err
	}
	report(o.common, ch)
	if !o.Wait {
		return nil
	}
	start := o.Now()
	say, stop := printers.StatusLines(o.ErrOut, func(msg string) string {
		return fmt.Sprintf("%s: %s (%s)", app.Name, msg, o.Now().Sub(start).Round(time.Second))
	})
	err = s.gates.WaitOpen(ctx, app, say)
	stop()
	switch {
	case err == nil:
		fmt.Fprintf(o.Out, "%s: up, costs $%.2f per hour\n", app.Name, app.Gate.CostPerHour)
		return nil
	case cli.Interrupted(ctx):
		return fmt.Errorf("interrupted after opening %s while waiting for %s: the gate is open; run kubectl costgate down %s to close it or up again to wait",
			opened(ch), waitingFor(app, ch), app.Name)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s is open but not ready: %w", app.Name, err)
	}
	// What was written stands whatever the wait met (a lost server included).
	return fmt.Errorf("%s was opened (%s %s -> %s), then waiting for it failed: %w", app.Name, ch.Target, ch.From, ch.To, err)
}

// opened names an open gate and how far it is open: "raw-vllm (replicas 1)".
func opened(ch costgate.Change) string {
	if ch.Replicas > 0 {
		return fmt.Sprintf("%s (replicas %d)", ch.App, ch.Replicas)
	}
	return ch.App
}

// waitingFor is what up waits on: "1/1 ready".
func waitingFor(app platform.App, ch costgate.Change) string {
	if app.Gate.Kind == platform.GatePause {
		return "the InferenceService to be Ready"
	}
	return fmt.Sprintf("%d/%d ready", ch.Replicas, ch.Replicas)
}

func report(c *common, ch costgate.Change) {
	if !ch.Changed || ch.From == ch.To { // a write that only tidied annotations opened nothing
		fmt.Fprintf(c.Out, "%s: %s already %s\n", ch.App, ch.Target, ch.To)
		return
	}
	fmt.Fprintf(c.Out, "%s: %s %s -> %s\n", ch.App, ch.Target, ch.From, ch.To)
}
