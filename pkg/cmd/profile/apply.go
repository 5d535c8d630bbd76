package profile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
)

// ApplyOptions applies a profile.
type ApplyOptions struct {
	*common
	Profile string
	DryRun  string // none, server or client
	Prune   bool
	Timeout time.Duration // for pruning: how long a layer may take to go
}

func newCmdApply(c *common) *cobra.Command {
	o := &ApplyOptions{common: c}
	cmd := &cobra.Command{
		Use:   "apply PROFILE",
		Short: "Server-side apply the AppProject and the profile's ApplicationSets in layer order",
		Long: `Applies the AppProject and the ApplicationSet of each of the profile's layers, in bring-up
order, with server-side apply (field manager kubectl-profile). The objects are members of
an ApplySet (kubectl's applyset.kubernetes.io convention) whose parent is the ConfigMap
kubectl-profile-<env>, so the set kubectl profile owns is known.

Narrowing (full -> serving) leaves the wider layers alone unless --prune: then it lists what
it will delete, and deletes the layers outside the profile in reverse bring-up order, each
one fully (its Applications and their resources) before the next, and only objects of its
own set. Everything is validated before the first write.`,
		Example: `  kubectl profile apply full --env ai-dev
  kubectl profile apply serving --prune --env ai-dev
  kubectl profile apply llm-gateway --dry-run=server --env ai-dev`,
		Args:              profileArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.ProfileNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Profile = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.DryRun, "dry-run", "none", `"none", "server" (the API server validates, nothing is persisted) or "client" (print what would be applied)`)
	cmd.Flags().BoolVar(&o.Prune, "prune", false, "Delete the layers outside the profile (reverse bring-up order, own objects only)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 10*time.Minute, "How long pruning (or an earlier prune still in progress) may take for one layer to be gone")
	return cmd
}

// Validate checks the flags.
func (o *ApplyOptions) Validate() error {
	switch o.DryRun {
	case "none", "server", "client":
	default:
		return fmt.Errorf(`--dry-run=%q: must be "none", "server" or "client"`, o.DryRun)
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	return nil
}

// Run applies the profile (profile.Apply) and says what each write did.
func (o *ApplyOptions) Run(ctx context.Context) error {
	env, p, err := o.loadProfile(o.Profile)
	if err != nil {
		return err
	}
	suffix := ""
	if o.DryRun != "none" {
		suffix = fmt.Sprintf(" (dry run: %s)", o.DryRun)
	}
	if o.DryRun == "client" {
		objs, err := profile.Desired(env, p)
		if err != nil {
			return err
		}
		for _, obj := range objs {
			fmt.Fprintf(o.Out, "%s would be applied%s\n", profile.Ref(obj), suffix)
		}
		return nil
	}
	client, err := o.connect(ctx, env)
	if err != nil {
		return err
	}
	err = profile.Apply(ctx, client, env, p, profile.ApplyOptions{DryRun: o.DryRun == "server", Prune: o.Prune, Timeout: o.Timeout}, profile.ApplyReport{
		Applied: func(ref, verb string) { fmt.Fprintf(o.Out, "%s %s%s\n", ref, verb, suffix) },
		WaitingOut: func(ref string) {
			fmt.Fprintf(o.ErrOut, "%s is being deleted (an earlier prune); waiting until it is gone to create it again\n", ref)
		},
		LeftApplied: func(layers []string) {
			fmt.Fprintf(o.ErrOut, "note: layers outside profile %s are still applied: %s (apply --prune removes them)\n", p.Name, strings.Join(layers, ", "))
		},
		PrunePlan: func(sets []unstructured.Unstructured) {
			fmt.Fprintf(o.Out, "pruning %d layer(s) outside profile %s, in reverse bring-up order:\n", len(sets), p.Name)
			for _, s := range sets {
				fmt.Fprintf(o.Out, "  %s (layer %s)\n", profile.Ref(&s), s.GetLabels()[platform.LayerLabel])
			}
		},
		Deleting: func(ref string) {
			fmt.Fprintf(o.ErrOut, "deleting %s: its Applications and what they deployed go first\n", ref)
		},
		Pruned: func(ref string) { fmt.Fprintf(o.Out, "%s pruned\n", ref) },
	})
	return applyFailed(ctx, err)
}

// applyFailed says how far a failed apply got, and that the same apply
// run again finishes it.
func applyFailed(ctx context.Context, err error) error {
	var a *profile.ApplyError
	if !errors.As(err, &a) {
		return err
	}
	interrupted := cli.Interrupted(ctx)
	switch {
	case a.Stage == profile.ApplyChecking && interrupted:
		return fmt.Errorf("interrupted during the server-side dry run, before anything was written; run the same apply again")
	case a.Stage == profile.ApplyWaiting && interrupted:
		return fmt.Errorf("interrupted while waiting for %s to be deleted, before anything was written; run the same apply again", a.Object)
	case a.Stage == profile.ApplyWriting && interrupted:
		// The request for this object was sent: it may have landed.
		return fmt.Errorf("interrupted while applying %s: %d of %d objects of profile %s were applied before it, and it may have landed too; run the same apply again to finish",
			a.Object, a.Done, a.Total, a.Profile)
	case a.Stage == profile.ApplyWriting:
		return fmt.Errorf("%w (applied %d of %d objects; the ApplySet still records the previous profile; run the same apply again to finish)", a.Err, a.Done, a.Total)
	case a.Stage == profile.ApplyRecording && interrupted:
		return fmt.Errorf("interrupted after applying every object of profile %s, before recording it; run the same apply again to finish", a.Profile)
	case a.Stage == profile.ApplyPruning && interrupted:
		return fmt.Errorf("interrupted while pruning %s (%d of %d layers pruned); run the same apply again to finish", a.Object, a.Done, a.Total)
	}
	return a.Err
}
