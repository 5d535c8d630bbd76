package costgate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// DownOptions closes one gate or all open ones.
type DownOptions struct {
	*common
	App     string
	All     bool
	Timeout time.Duration
	Wait    bool
	Fleet   cli.FleetFlags
}

func newCmdDown(c *common) *cobra.Command {
	o := &DownOptions{common: c}
	cmd := &cobra.Command{
		Use:   "down (APP | --all)",
		Short: "Close a gate (scale to 0, pause KServe, or delete what a sync gate deployed) and wait until its pods are gone",
		Long: `Closes a gate with the write its kind needs (field manager kubectl-costgate), then waits
until its pods are gone (--wait=false returns at once):

- a scale gate's Deployment goes to 0 replicas, its count remembered (annotation
  costgate.aidev.io/previous-replicas) for the next up;
- a pause gate's InferenceService gets serving.kserve.io/stop: "true";
- a sync gate's objects, those its Application's status.resources lists (hooks aside), are
  deleted: highest sync wave first, workloads before their Services and ConfigMaps, each
  with foreground propagation (and, in core mode, its UID as a precondition); the wait
  ends once they and their pods are gone and Argo CD has seen them gone. The
  Application stays, OutOfSync and Missing, and costs nothing: sync opens it again.
  Kept, and said so: Namespaces and CustomResourceDefinitions (deleting them deletes
  others' objects), cluster-scoped objects, PersistentVolumeClaims (their data), objects
  another Application deploys too, and what Argo CD itself keeps when an Application is
  deleted (argocd.argoproj.io/sync-options: Delete=false or Delete=confirm,
  helm.sh/resource-policy: keep).

Every permission is checked before the first write, and every missing one named. In server
mode Argo CD's fine-grained delete/<group>/<kind>/<namespace>/<name> cannot be asked
beforehand (argocd account can-i does not take it, and a delete has no harmless probe): a
refused delete stops the close there, saying what was deleted and how to bring it back.

--all closes every open gate of the environment (scale, pause and sync); a gate that fails
does not stop the others. With --all-envs, of every environment under --dir, each on its
own cluster (its platform.yaml cluster:), concurrently; each line is led by its environment.`,
		Example: `  kubectl costgate down raw-vllm --env ai-dev
  # A sync gate: delete what its sync deployed, keep the Application
  kubectl costgate down inference-demo --env ai-dev
  # Every open gate of the environment, e.g. at the end of the day
  kubectl costgate down --all --env ai-dev

  # Friday evening: every open gate of every environment
  kubectl costgate down --all --all-envs`,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.GatedApps()),
		Args: func(cmd *cobra.Command, args []string) error {
			if o.All == (len(args) == 1) || len(args) > 1 {
				return fmt.Errorf("down takes one APP or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.App = args[0]
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout must be positive")
			}
			if err := o.Fleet.Validate(o.Factory, cmd); err != nil {
				return err
			}
			if o.Fleet.AllEnvs {
				if !o.All {
					return fmt.Errorf("--all-envs closes every open gate of every environment: add --all (a gate is closed by name in its --env)")
				}
				fleet := o.Fleet
				fleet.EnvTimeout += o.Timeout // reaching each environment, then its own wait
				return o.runFleet(cmd.Context(), fleet, "", "down --all", func(ctx context.Context, c *common) error {
					one := *o
					one.common = c
					return one.Run(ctx)
				})
			}
			return o.Run(cmd.Context())
		},
	}
	o.Fleet.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.All, "all", false, "Close every open gate of the environment")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Minute, "How long to wait for the pods (and a sync gate's objects) to go")
	cmd.Flags().BoolVar(&o.Wait, "wait", true, "Wait until the pods (and a sync gate's objects) are gone")
	return cmd
}

// Run closes.
func (o *DownOptions) Run(ctx context.Context) error {
	var apps []platform.App
	var s *session
	var err error
	if o.All {
		if s, err = o.open(ctx); err != nil {
			return err
		}
		gated := costgate.Configured(s.env)
		live, err := s.gates.ReadLive(ctx, gated)
		if err != nil {
			return err
		}
		apps = costgate.OpenGates(gated, costgate.Observe(s.env.Host, gated, live, o.Now()))
		if len(apps) == 0 {
			fmt.Fprintln(o.Out, "no open gates")
			return nil
		}
	} else {
		var app platform.App
		if s, app, err = o.openApp(ctx, o.App); err != nil {
			return err
		}
		apps = []platform.App{app}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return closeGates(ctx, o.common, s, apps, o.Wait, "down")
}

// closeGates closes every gate (a failure does not stop the others), waits for
// their pods to go, and reports each gate: exit 1 when any failed. verb names
// the command for what to run again after an interrupt.
func closeGates(ctx context.Context, c *common, s *session, apps []platform.App, wait bool, verb string) error {
	say, stop := printers.StatusLines(c.ErrOut, func(msg string) string { return msg })
	results := s.gates.CloseAll(ctx, apps, wait,
		func(r costgate.Closed) { reportClosed(c, r) },
		func(app, msg string) { say(app + ": " + msg) })
	stop()
	if cli.Interrupted(ctx) {
		return interruptedClosing(apps, results, verb, c.Display())
	}
	if len(apps) == 1 {
		if results[0].Down {
			fmt.Fprintf(c.Out, "%s: down\n", apps[0].Name)
		}
		return results[0].Err
	}
	var failed []string
	for i, r := range results {
		switch {
		case r.Err != nil:
			fmt.Fprintf(c.ErrOut, "%s: %v\n", apps[i].Name, r.Err)
			failed = append(failed, apps[i].Name)
		case r.Down:
			fmt.Fprintf(c.Out, "%s: down\n", apps[i].Name)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d gate(s) not closed: %s", len(failed), len(apps), strings.Join(failed, ", "))
}

// interruptedClosing says what an interrupted down (or pause) had closed and
// what is left; running it again finishes.
func interruptedClosing(apps []platform.App, results []costgate.Closed, verb, display string) error {
	var closed, open, partly, syncs []string
	for i, r := range results {
		switch {
		case r.Closed:
			closed = append(closed, apps[i].Name)
		case r.Undeploy != nil && len(r.Undeploy.Deleted()) > 0: // a sync gate stopped between two deletes
			partly = append(partly, fmt.Sprintf("%s (deleted %s)", apps[i].Name, strings.Join(r.Undeploy.Deleted(), ", ")))
			syncs = append(syncs, display+" sync "+apps[i].Name)
		default:
			open = append(open, apps[i].Name)
		}
	}
	switch {
	case len(partly) > 0:
		return fmt.Errorf("interrupted while closing %s: run the same %s again to finish, or %s to bring back what was deleted",
			strings.Join(partly, "; "), verb, strings.Join(syncs, "; "))
	case len(closed) == 0:
		return fmt.Errorf("interrupted before %s was closed: nothing changed; run the same %s again", strings.Join(open, ", "), verb)
	case len(apps) == 1:
		return fmt.Errorf("interrupted after closing %s (%s) while waiting for its pods to go: the gate is closed; run the same %s again to wait for them",
			apps[0].Name, closedAs(results[0]), verb)
	case len(open) == 0:
		return fmt.Errorf("interrupted after closing %s while waiting for their pods to go: the gates are closed; run the same %s again to wait for them",
			strings.Join(closed, ", "), verb)
	}
	return fmt.Errorf("interrupted after closing %d of %d gates (%s); not closed yet: %s: run the same %s again to finish",
		len(closed), len(apps), strings.Join(closed, ", "), strings.Join(open, ", "), verb)
}

// closedAs is how a closed gate is closed: "replicas 0", "paused", or "what
// its sync deployed deleted".
func closedAs(r costgate.Closed) string {
	switch {
	case r.Undeploy != nil:
		return r.Change.Target + " " + r.Change.To
	case r.Change.To == "paused":
		return r.Change.To
	}
	return "replicas " + r.Change.To
}

// reportClosed says what a close did: the change, or each object of a sync gate.
func reportClosed(c *common, r costgate.Closed) {
	if r.Undeploy == nil {
		report(c, r.Change)
		return
	}
	app := r.Change.App
	for _, o := range r.Undeploy.Objects {
		switch o.Action {
		case costgate.ActionDeleted:
			fmt.Fprintf(c.Out, "%s: deleted %s\n", app, o.Object)
		case costgate.ActionGone:
			fmt.Fprintf(c.Out, "%s: %s is gone already: %s\n", app, o.Object, o.Reason)
		default: // kept, skipped
			fmt.Fprintf(c.Out, "%s: %s %s: %s\n", app, o.Action, o.Object, o.Reason)
		}
	}
	if !r.Change.Changed {
		fmt.Fprintf(c.Out, "%s: nothing deployed to delete, already down\n", app)
	}
	for _, w := range r.Undeploy.Warnings {
		fmt.Fprintf(c.ErrOut, "warning: %s\n", w)
	}
}
