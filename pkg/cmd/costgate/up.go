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
	For      time.Duration
	Reason   string
	Timeout  time.Duration
	Wait     bool
}

func newCmdUp(c *common) *cobra.Command {
	o := &UpOptions{common: c}
	cmd := &cobra.Command{
		Use:   "up APP",
		Short: "Open a gate: sync if needed, scale up (or resume KServe), and wait until it serves",
		Long: `Syncs the app first when it is not deployed or out of sync, then opens the gate. It first
records on the Application who opens it (the Kubernetes user, or the Argo CD user in
server mode), --reason, and its lease (costgate.aidev.io/expires-at: --for from now, else
the gate's max-open when it was closed), then writes once (field manager kubectl-costgate):
a scale gate's workload (any kind with a /scale subresource: Deployment, StatefulSet,
LeaderWorkerSet, a custom resource) goes to --replicas, else to the count remembered at the
last down, else the gate's replicas annotation; a pause gate's InferenceService loses
serving.kserve.io/stop; a sync gate is deployed by the sync. A gate already open stays at
its count unless --replicas says otherwise, and --for extends its lease. Then it waits,
saying what it waits on (pods Pending and why, image pulls, Ready).

costgate idle closes a gate whose lease has run out, and one outside its uptime window
(costgate.aidev.io/uptime) whose lease has ended.

It refuses before writing anything: a count above the gate's maximum
(costgate.aidev.io/max-replicas, default 8) or a --for above its max-open without --force;
an up outside the gate's uptime window without --for; a workload whose replicas Argo CD
does not ignore (ignoreDifferences on /spec/replicas of exactly its group, kind and name,
and RespectIgnoreDifferences=true), or one a HorizontalPodAutoscaler or an unpaused KEDA
ScaledObject scales; and a user who may not make every write and watch it needs (asked with
SelfSubjectAccessReviews, or Argo CD's RBAC in server mode).

Interrupted (Ctrl-C), it says what it had done; the same up, run again, finishes.`,
		Example: `  kubectl costgate up raw-vllm --env ai-dev
  # Open for two hours: costgate idle closes it after that
  kubectl costgate up raw-vllm --for 2h --reason "eval run" --env ai-dev
  kubectl costgate up coder-chat --replicas 2 --timeout 30m --env ai-dev`,
		Args:              appArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.GatedApps(platform.GateScale, platform.GatePause, platform.GateSync)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.App = args[0]
			switch {
			case cmd.Flags().Changed("replicas") && o.Replicas == 0:
				return fmt.Errorf("--replicas 0 would close the gate: use %s down %s", o.Display(), o.App)
			case o.Replicas < 0:
				return fmt.Errorf("--replicas %d: must be a positive count", o.Replicas)
			case o.Timeout <= 0:
				return fmt.Errorf("--timeout %s: must be positive", o.Timeout)
			case cmd.Flags().Changed("for") && o.For <= 0:
				return fmt.Errorf("--for %s: must be positive", o.For)
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().Int32Var(&o.Replicas, "replicas", 0, "Replicas to scale to (default: an open gate keeps its count; a closed one gets the count at the last down, else the gate's)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "Allow a count above the gate's maximum (annotation costgate.aidev.io/max-replicas), or a --for above its max-open")
	cmd.Flags().DurationVar(&o.For, "for", 0, "Lease: close the gate this long from now (costgate idle closes it); default the gate's max-open")
	cmd.Flags().StringVar(&o.Reason, "reason", "", "Why it is opened, recorded on the Application and shown by list")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 15*time.Minute, "How long to wait for the workload")
	cmd.Flags().BoolVar(&o.Wait, "wait", true, "Wait until the workload is ready")
	return cmd
}

// Run opens the gate (costgate.Gates.Up). Everything that needs no cluster
// is checked before connecting; Up checks everything that needs no write.
func (o *UpOptions) Run(ctx context.Context) error {
	env, app, err := o.gate(o.App)
	if err != nil {
		return err
	}
	opts := costgate.UpOptions{OpenOptions: costgate.OpenOptions{Replicas: o.Replicas, Force: o.Force, For: o.For, Reason: o.Reason}, Wait: o.Wait}
	if _, err := costgate.CheckUp(app, opts, o.Now()); err != nil {
		return err
	}
	s, err := o.connect(ctx, env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := o.Now()
	say, stop := printers.StatusLines(o.ErrOut, func(msg string) string {
		return fmt.Sprintf("%s: %s (%s)", app.Name, msg, o.Now().Sub(start).Round(time.Second))
	})
	defer stop()
	_, err = s.gates.Up(ctx, app, opts, costgate.UpReport{
		Syncing: func(st argocd.AppStatus) {
			fmt.Fprintf(o.ErrOut, "%s: %s/%s, syncing first\n", app.Name, printers.Dash(st.Sync), printers.Dash(st.Health))
			fmt.Fprintf(o.ErrOut, "%s: syncing (%s mode)\n", app.Name, s.gates.Backend.Mode())
		},
		Progress: syncProgress(o.ErrOut, app.Name),
		Opened:   func(ch costgate.Change) { report(o.common, ch); start = o.Now() },
		Waiting:  say,
		Note:     func(msg string) { fmt.Fprintf(o.ErrOut, "%s: %s\n", app.Name, msg) },
	})
	stop()
	if err == nil {
		if o.Wait {
			fmt.Fprintf(o.Out, "%s: up, costs $%.2f per hour\n", app.Name, app.Gate.CostPerHour)
		}
		return nil
	}
	return o.upFailed(ctx, app, err)
}

// upFailed says how far a failed up got, and what to run next.
func (o *UpOptions) upFailed(ctx context.Context, app platform.App, err error) error {
	var up *costgate.UpError
	if !errors.As(err, &up) {
		return err
	}
	interrupted := cli.Interrupted(ctx)
	switch {
	case up.Stage == costgate.UpSyncing && interrupted:
		return fmt.Errorf("interrupted while syncing %s: the sync goes on in Argo CD and the gate is not open yet; run the same up again to finish", app.Name)
	case up.Stage == costgate.UpSyncing && up.Result != nil:
		printResult(o.ErrOut, up.Result)
	case up.Stage == costgate.UpOpening && interrupted && up.Synced:
		return fmt.Errorf("interrupted after syncing %s; the gate is not open yet: run the same up again to finish", app.Name)
	case up.Stage == costgate.UpOpening && interrupted:
		return fmt.Errorf("interrupted before %s was opened: nothing changed", app.Name)
	case up.Stage == costgate.UpWaiting && interrupted:
		return fmt.Errorf("interrupted after opening %s while waiting for %s: the gate is open; run %s down %s to close it or up again to wait",
			opened(up.Change), waitingFor(app, up.Change), o.Display(), app.Name)
	case up.Stage == costgate.UpWaiting && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s is open but not ready: %w", app.Name, up.Err)
	case up.Stage == costgate.UpWaiting:
		// What was written stands whatever the wait met (a lost server included).
		ch := up.Change
		return fmt.Errorf("%s was opened (%s %s -> %s), then waiting for it failed: %w", app.Name, ch.Target, ch.From, ch.To, up.Err)
	}
	return up.Err
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
	lease := ""
	if ch.ExpiresAt != nil && ch.To != "0" && ch.To != "paused" {
		lease = fmt.Sprintf(" (lease until %s, in %s)", ch.ExpiresAt.UTC().Format(time.RFC3339), ch.ExpiresAt.Sub(c.Now()).Round(time.Second))
	}
	if !ch.Changed || ch.From == ch.To { // a write that only tidied annotations opened nothing
		fmt.Fprintf(c.Out, "%s: %s already %s%s\n", ch.App, ch.Target, ch.To, lease)
		return
	}
	fmt.Fprintf(c.Out, "%s: %s %s -> %s%s\n", ch.App, ch.Target, ch.From, ch.To, lease)
}
