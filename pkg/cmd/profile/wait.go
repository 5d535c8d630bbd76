package profile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// WaitOptions waits for a profile's apps.
type WaitOptions struct {
	*common
	Profile       string
	Timeout       time.Duration
	DegradedGrace time.Duration
	AppSetGrace   time.Duration
}

func newCmdWait(c *common) *cobra.Command {
	o := &WaitOptions{common: c}
	cmd := &cobra.Command{
		Use:   "wait PROFILE",
		Short: "Wait until every auto-sync app of the profile is Synced and Healthy",
		Long: `Waits for the group Applications the profile's ApplicationSets generate and their
child Applications, minus the cost-gated ones (shown as gated, never waited on), to be
Synced and Healthy. It is one LIST and one WATCH of Applications for the whole wait,
resumed after an expired watch or an API server restart.

On a terminal it shows a table that updates in place; elsewhere one line per change.
A Degraded app fails the wait only after --degraded-grace; an ApplicationSet that
reports an error (an AppProject it names does not exist, a generator failing) fails it
once the error has stood for --appset-grace, naming the ApplicationSet and Argo CD's
message. On timeout it exits 1 and
lists every app that is not ready, with the reason.`,
		Example: `  kubectl profile wait full --env ai-dev
  kubectl profile wait serving --env ai-dev --timeout 30m --degraded-grace 2m`,
		Args:              profileArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.ProfileNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Profile = args[0]
			if o.Timeout <= 0 || o.DegradedGrace < 0 || o.AppSetGrace < 0 {
				return fmt.Errorf("--timeout must be positive, --degraded-grace and --appset-grace not negative")
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 15*time.Minute, "How long to wait")
	cmd.Flags().DurationVar(&o.DegradedGrace, "degraded-grace", 60*time.Second, "How long an app may stay Degraded before the wait fails")
	cmd.Flags().DurationVar(&o.AppSetGrace, "appset-grace", argocd.DefaultAppSetGrace, "How long an ApplicationSet's error may stand (from the start of the wait) before the wait on its apps fails")
	return cmd
}

// Targets are the apps a profile's wait expects, from the model, each with what
// creates it as the tree names it: "ApplicationSet <name>" or the group app.
func Targets(env *platform.Env, p platform.Profile) ([]argocd.Target, error) {
	apps, err := env.ExpectedApps(p)
	if err != nil {
		return nil, err
	}
	var out []argocd.Target
	for _, a := range apps {
		parent := a.Parent
		if a.GroupApp {
			parent = "ApplicationSet " + a.Parent
		}
		out = append(out, argocd.Target{Name: a.Name, Layer: a.Layer, Group: a.Group, Parent: parent, Gated: a.Gated, Manual: a.Manual})
	}
	return out, nil
}

// Run waits.
func (o *WaitOptions) Run(ctx context.Context) error {
	env, p, err := o.loadProfile(o.Profile)
	if err != nil {
		return err
	}
	targets, err := Targets(env, p)
	if err != nil {
		return err
	}
	open, err := o.watches(ctx, env)
	if err != nil {
		return err
	}
	start := o.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	tracker := argocd.NewTracker(targets, o.DegradedGrace)
	tracker.AppSetGrace = o.AppSetGrace
	progress := printers.NewProgress(o.Out, printers.IsTerminal(o.Out), []string{"APP", "LAYER", "GROUP", "SYNC", "HEALTH", "MESSAGE"})
	var watcher *kube.Watcher
	summary := func(r argocd.Result) string {
		s := fmt.Sprintf("%d/%d ready, %d gated, %s", r.Ready, r.Total, r.Gated, o.Now().Sub(start).Round(time.Second))
		if trouble := watcher.Trouble(); trouble != nil {
			s += "; no word from the server: " + trouble.Error()
		}
		return s
	}
	watcher, appsets := open(ctx)
	appsetC := appsets.C
	appsetsSeen := false // the first look waits for both lists, so it says one thing
	var live kube.Snapshot
	var graceTimer <-chan time.Time
	var last argocd.Result
	// A long wait says what it waits on at least this often, events or not.
	heartbeat := time.NewTicker(printers.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-heartbeat.C:
			if live == nil {
				continue
			}
		case snap, ok := <-appsetC:
			if !ok { // not readable (RBAC): the wait goes on with the Applications alone
				if err := appsets.Err(); err != nil {
					klog.V(1).Infof("not following the ApplicationSets: %v", err)
				}
				appsetC = nil
			} else if changed := tracker.SeeAppSets(snap, o.Now()); !changed && appsetsSeen {
				continue // nothing new to say
			}
			appsetsSeen = true
			if live == nil {
				continue // no Applications read yet
			}
		case snap, ok := <-watcher.C:
			if !ok {
				progress.Final(rows(last), summary(last))
				return o.ended(ctx, p, watcher, last, start)
			}
			live = snap
			if !appsetsSeen && appsetC != nil {
				continue
			}
		case <-graceTimer:
		}
		last = tracker.Observe(live, o.Now())
		progress.Update(rows(last), pending(last), summary(last))
		if last.Done || len(last.Failed) > 0 {
			progress.Final(rows(last), summary(last))
			return o.verdict(p, last, start)
		}
		graceTimer = nil
		if !last.Next.IsZero() {
			graceTimer = time.After(last.Next.Sub(o.Now()))
		}
	}
}

// watches opens, in the invocation's one mode, a watch of the Applications
// and one of the ApplicationSets: Argo CD's streams in server mode (argocd
// profile, no Kubernetes credentials), else the Kubernetes API's. The
// ApplicationSets too: one that fails (an AppProject it names does not
// exist, a generator error) never creates its apps, and says why.
func (o *WaitOptions) watches(ctx context.Context, env *platform.Env) (func(context.Context) (apps, appsets *kube.Watcher), error) {
	argo, serverMode, err := o.ArgoREST()
	if err != nil {
		return nil, err
	}
	if serverMode {
		return func(ctx context.Context) (*kube.Watcher, *kube.Watcher) {
			return argo.Watch(ctx, env.Descriptor.Project), argo.WatchApplicationSets(ctx, env.Descriptor.Project)
		}, nil
	}
	client, err := o.connect(ctx, env)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (*kube.Watcher, *kube.Watcher) {
		return client.Watch(ctx, kube.Applications, env.Config.Namespace, kube.Selector{}),
			client.Watch(ctx, kube.ApplicationSets, env.Config.Namespace, kube.Selector{})
	}, nil
}

// ended says why the watch of the Applications ended before the wait was
// over: its error, an interrupt, or the timeout.
func (o *WaitOptions) ended(ctx context.Context, p platform.Profile, watcher *kube.Watcher, last argocd.Result, start time.Time) error {
	if err := watcher.Err(); err != nil {
		return err
	}
	if cli.Interrupted(ctx) {
		return fmt.Errorf("interrupted while waiting for profile %s: %d of %d apps ready (nothing was changed; run the same wait again)", p.Name, last.Ready, last.Total)
	}
	if trouble := watcher.Trouble(); trouble != nil {
		fmt.Fprintf(o.ErrOut, "profile %s: the server has not answered the watch since its last word: %v\n", p.Name, trouble)
	}
	return o.timedOut(p, last, o.Now().Sub(start))
}

// verdict is the end of a wait that is over: done, or failed and why.
func (o *WaitOptions) verdict(p platform.Profile, last argocd.Result, start time.Time) error {
	if len(last.Failed) > 0 {
		why := "Degraded past --degraded-grace"
		if !strings.HasPrefix(last.Failed[0].Reason, "Degraded") {
			why = "not created: an ApplicationSet reports an error"
		}
		return o.failed(p, last.Failed, why)
	}
	fmt.Fprintf(o.Out, "profile %s: %d apps Synced and Healthy (%d gated, not waited on) in %s\n",
		p.Name, last.Total, last.Gated, o.Now().Sub(start).Round(100*time.Millisecond))
	return nil
}

// pending marks the rows a wait still waits on.
func pending(r argocd.Result) []bool {
	out := make([]bool, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = row.State != argocd.StateReady && row.State != argocd.StateGated
	}
	return out
}

func rows(r argocd.Result) [][]string {
	out := make([][]string, 0, len(r.Rows))
	for _, row := range r.Rows {
		syncCol, health := printers.Dash(row.Status.Sync), printers.Dash(row.Status.Health)
		msg := row.Reason
		switch row.State {
		case argocd.StateGated:
			syncCol = "gated"
		case argocd.StateReady:
			msg = ""
		}
		out = append(out, []string{row.Name, row.Layer, row.Group, syncCol, health, oneLine(msg, 100)})
	}
	return out
}

func (o *WaitOptions) timedOut(p platform.Profile, r argocd.Result, waited time.Duration) error {
	var notReady []argocd.Row
	for _, row := range r.Rows {
		if row.State != argocd.StateReady && row.State != argocd.StateGated {
			notReady = append(notReady, row)
		}
	}
	return o.failed(p, notReady, fmt.Sprintf("not ready after %s", waited.Round(time.Second)))
}

func (o *WaitOptions) failed(p platform.Profile, bad []argocd.Row, why string) error {
	fmt.Fprintf(o.ErrOut, "profile %s: %d app(s) %s:\n", p.Name, len(bad), why)
	for _, row := range bad {
		fmt.Fprintf(o.ErrOut, "  %-28s %-12s %s\n", row.Name, row.Layer, row.Reason)
	}
	return &cli.ExitError{Code: 1, Err: fmt.Errorf("profile %s is not ready", p.Name)}
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return s[:max-1] + "…"
	}
	return s
}
