package profile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// ApplyOptions applies a profile.
type ApplyOptions struct {
	*common
	Profile string
	DryRun  string // none, server or client
	Prune   bool
	Timeout time.Duration // for pruning: how long a layer may take to go

	env *platform.Env // the environment of the run, for the names in messages
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

// Run applies, then prunes when asked. Nothing is written until every object
// (the ApplySet parent included) has passed a server-side dry run, which the API
// server runs with the same validation and permission checks as the write; a
// member that is still being deleted is waited out first. The parent records the
// new profile only after every member landed, so a failure halfway leaves it
// naming the profile that is really applied.
func (o *ApplyOptions) Run(ctx context.Context) error {
	env, p, err := o.loadProfile(o.Profile)
	if err != nil {
		return err
	}
	o.env = env
	objs, err := desired(env, p)
	if err != nil {
		return err
	}
	set := applySet(env)
	suffix := ""
	if o.DryRun != "none" {
		suffix = fmt.Sprintf(" (dry run: %s)", o.DryRun)
	}
	if o.DryRun == "client" {
		for _, obj := range objs {
			fmt.Fprintf(o.Out, "%s would be applied%s\n", ref(obj), suffix)
		}
		return nil
	}
	client, err := o.connect(ctx, env)
	if err != nil {
		return err
	}
	if err := checkProject(ctx, client, env); err != nil {
		return err
	}
	// Everything about the live set is read before the first write.
	liveParent, err := set.GetParent(ctx, client)
	if err != nil {
		return err
	}
	live := map[string]*unstructured.Unstructured{} // kind/name -> live member
	var liveSets []unstructured.Unstructured
	for _, k := range set.Kinds {
		members, err := set.Members(ctx, client, k)
		if err != nil {
			return err
		}
		for i := range members {
			live[members[i].GetKind()+"/"+members[i].GetName()] = &members[i]
		}
		if k == kube.ApplicationSets {
			liveSets = members
		}
	}
	toPrune := prunable(env, p, liveSets, objs)

	// The parent is written twice: first with the superset of group-kinds and the
	// previous profile (as kubectl's ApplySet does, so the set is known before any
	// member lands), last with the new profile once the members are in.
	previous := map[string]string{}
	if liveParent != nil {
		for _, k := range []string{appliedProfileAnnotation, appliedLayersAnnotation} {
			if v, ok := liveParent.GetAnnotations()[k]; ok {
				previous[k] = v
			}
		}
	}
	first := set.Parent(previous)
	last := set.Parent(map[string]string{
		appliedProfileAnnotation: p.Name,
		appliedLayersAnnotation:  strings.Join(p.Layers, ","),
	})

	// The dry run's answers are the whole result of --dry-run=server: it asks once.
	checked := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range append([]*unstructured.Unstructured{last}, objs...) {
		out, err := client.Apply(ctx, obj, FieldManager, true)
		if err != nil && cli.Interrupted(ctx) {
			return fmt.Errorf("interrupted during the server-side dry run, before anything was written; run the same apply again")
		}
		if err != nil {
			return fmt.Errorf("nothing was written: the server-side dry run refused %s: %w", ref(obj), err)
		}
		if i > 0 {
			checked[i-1] = out
		}
	}
	dry := o.DryRun == "server"
	if !dry {
		for _, obj := range objs {
			if m := live[obj.GetKind()+"/"+obj.GetName()]; m != nil && m.GetDeletionTimestamp() != nil {
				fmt.Fprintf(o.ErrOut, "%s is being deleted (an earlier prune); waiting until it is gone to create it again\n", ref(obj))
				if err := o.waitGone(ctx, client, m); err != nil {
					if cli.Interrupted(ctx) {
						return fmt.Errorf("interrupted while waiting for %s to be deleted, before anything was written; run the same apply again", ref(obj))
					}
					return fmt.Errorf("nothing was written: %w", err)
				}
				delete(live, obj.GetKind()+"/"+obj.GetName())
			}
		}
		if _, err := client.Apply(ctx, first, FieldManager, false); err != nil {
			return err
		}
	}
	for i, obj := range objs {
		out, err := checked[i], error(nil)
		if !dry {
			out, err = client.Apply(ctx, obj, FieldManager, false)
		}
		if err != nil {
			if cli.Interrupted(ctx) {
				// The request for this object was sent: it may have landed.
				return fmt.Errorf("interrupted while applying %s: %d of %d objects of profile %s were applied before it, and it may have landed too; run the same apply again to finish",
					ref(obj), i, len(objs), p.Name)
			}
			return fmt.Errorf("%w (applied %d of %d objects; the ApplySet still records the previous profile; run the same apply again to finish)", err, i, len(objs))
		}
		var verb string
		switch m, ok := live[obj.GetKind()+"/"+obj.GetName()]; {
		case !ok:
			verb = "created"
		case m.GetResourceVersion() == out.GetResourceVersion():
			verb = "unchanged"
		default:
			verb = "configured"
		}
		fmt.Fprintf(o.Out, "%s %s%s\n", ref(obj), verb, suffix)
	}
	if !dry {
		if _, err := client.Apply(ctx, last, FieldManager, false); err != nil {
			if cli.Interrupted(ctx) {
				return fmt.Errorf("interrupted after applying every object of profile %s, before recording it; run the same apply again to finish", p.Name)
			}
			return err
		}
	}

	if len(toPrune) == 0 {
		return nil
	}
	if !o.Prune {
		fmt.Fprintf(o.ErrOut, "note: layers outside profile %s are still applied: %s (apply --prune removes them)\n",
			p.Name, strings.Join(layersOf(toPrune), ", "))
		return nil
	}
	fmt.Fprintf(o.Out, "pruning %d layer(s) outside profile %s, in reverse bring-up order:\n", len(toPrune), p.Name)
	for _, s := range toPrune {
		fmt.Fprintf(o.Out, "  %s (layer %s)\n", ref(&s), s.GetLabels()[platform.LayerLabel])
	}
	if dry {
		return nil
	}
	for i, s := range toPrune {
		if err := o.deleteAndWait(ctx, client, &s); err != nil {
			if cli.Interrupted(ctx) {
				return fmt.Errorf("interrupted while pruning %s (%d of %d layers pruned); run the same apply again to finish", ref(&s), i, len(toPrune))
			}
			return err
		}
		fmt.Fprintf(o.Out, "%s pruned\n", ref(&s))
	}
	return nil
}

// prunable returns the live ApplicationSets of the set that the profile does not
// hold, in reverse bring-up order.
func prunable(env *platform.Env, p platform.Profile, live []unstructured.Unstructured, want []*unstructured.Unstructured) []unstructured.Unstructured {
	keep := map[string]bool{}
	for _, w := range want {
		keep[w.GetName()] = true
	}
	order := env.LayerNames()
	var out []unstructured.Unstructured
	for _, s := range live {
		if !keep[s.GetName()] && !slices.Contains(p.Layers, s.GetLabels()[platform.LayerLabel]) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b unstructured.Unstructured) int {
		return slices.Index(order, b.GetLabels()[platform.LayerLabel]) - slices.Index(order, a.GetLabels()[platform.LayerLabel])
	})
	return out
}

// deleteAndWait deletes an ApplicationSet in the foreground, so it is gone only
// once its Applications (and, through their finalizers, what they deployed) are,
// and waits for that with one watch.
func (o *ApplyOptions) deleteAndWait(ctx context.Context, client *kube.Client, s *unstructured.Unstructured) error {
	fg := metav1.DeletePropagationForeground
	err := client.Resource(kube.ApplicationSets, s.GetNamespace()).Delete(ctx, s.GetName(), metav1.DeleteOptions{
		PropagationPolicy: &fg,
		Preconditions:     &metav1.Preconditions{UID: ptrUID(s)},
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pruning %s: %w", ref(s), client.Explain(err, kube.ApplicationSets))
	}
	fmt.Fprintf(o.ErrOut, "deleting %s: its Applications and what they deployed go first\n", ref(s))
	if err := o.waitGone(ctx, client, s); err != nil {
		return fmt.Errorf("pruning %s: %w", ref(s), err)
	}
	return nil
}

// waitGone waits, up to --timeout, until an ApplicationSet being deleted is gone.
func (o *ApplyOptions) waitGone(ctx context.Context, client *kube.Client, s *unstructured.Unstructured) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	w := client.Watch(ctx, kube.ApplicationSets, s.GetNamespace(), kube.Named(s.GetName()))
	for snap := range w.C {
		if cur, still := snap[s.GetName()]; !still || cur.GetUID() != s.GetUID() {
			return nil
		}
	}
	if err := w.Err(); err != nil {
		return err
	}
	if cli.Interrupted(ctx) {
		return ctx.Err()
	}
	return fmt.Errorf("%s is still being deleted after %s (its Applications are being deleted; see kubectl -n %s get applications %s)",
		ref(s), o.Timeout, s.GetNamespace(), o.groupApps(s.GetLabels()[platform.LayerLabel]))
}

// groupApps names the Applications a layer's ApplicationSet generates, as the
// tree names them (the rendered ApplicationSets are read once per command).
func (o *ApplyOptions) groupApps(layer string) string {
	if o.env != nil {
		if sets, err := o.env.AppSets(); err == nil && sets.Layers[layer] != nil {
			var names []string
			for _, l := range o.env.Descriptor.Layers {
				if l.Name != layer {
					continue
				}
				for _, g := range l.Groups {
					names = append(names, sets.Layers[layer].GroupApps[g.Name])
				}
			}
			return strings.Join(names, " ")
		}
	}
	return "-l " + platform.LayerLabel + "=" + layer
}

func ptrUID(s *unstructured.Unstructured) *types.UID { u := s.GetUID(); return &u }

func layersOf(sets []unstructured.Unstructured) []string {
	var out []string
	for _, s := range sets {
		out = append(out, s.GetLabels()[platform.LayerLabel])
	}
	return out
}

// ref names an object the way kubectl prints it: applicationset.argoproj.io/<name>.
func ref(o *unstructured.Unstructured) string {
	gk := o.GroupVersionKind().GroupKind()
	kind := strings.ToLower(gk.Kind)
	if gk.Group != "" {
		kind += "." + gk.Group
	}
	return kind + "/" + o.GetName()
}

// checkProject refuses, before any write, ApplicationSets whose AppProject is
// neither rendered with them nor in the cluster: Argo CD would generate none
// of their apps, and say so only in the ApplicationSets' status.
func checkProject(ctx context.Context, client *kube.Client, env *platform.Env) error {
	rendered, err := env.ProjectRendered()
	if err != nil || rendered {
		return err
	}
	_, err = client.Resource(kube.AppProjects, env.Config.Namespace).Get(ctx, env.Descriptor.Project, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("nothing was written: the ApplicationSets name AppProject %s (spec.template.spec.project), which %s does not render and namespace %s does not have, "+
			"so Argo CD would create none of their apps: render it with them (projects: <its folder> in %s) or create it first",
			env.Descriptor.Project, env.AppSetsDir(), env.Config.Namespace, env.DescriptorPath())
	case err != nil:
		return client.Explain(err, kube.AppProjects)
	}
	return nil
}
