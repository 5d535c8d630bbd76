package profile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// prune deletes the layers outside the profile (with opts.Prune; else it
// says they stay), each fully before the next.
func prune(ctx context.Context, client *kube.Client, env *platform.Env, toPrune []unstructured.Unstructured, opts ApplyOptions, r ApplyReport) error {
	if len(toPrune) == 0 {
		return nil
	}
	if !opts.Prune {
		call(r.LeftApplied, LayersOf(toPrune))
		return nil
	}
	call(r.PrunePlan, toPrune)
	if opts.DryRun {
		return nil
	}
	for i, s := range toPrune {
		if err := deleteAndWait(ctx, client, env, &s, opts.Timeout, r); err != nil {
			return &ApplyError{Stage: ApplyPruning, Object: Ref(&s), Done: i, Total: len(toPrune), Err: err}
		}
		call(r.Pruned, Ref(&s))
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
func deleteAndWait(ctx context.Context, client *kube.Client, env *platform.Env, s *unstructured.Unstructured, timeout time.Duration, r ApplyReport) error {
	fg := metav1.DeletePropagationForeground
	uid := s.GetUID()
	err := client.Resource(kube.ApplicationSets, s.GetNamespace()).Delete(ctx, s.GetName(), metav1.DeleteOptions{
		PropagationPolicy: &fg,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pruning %s: %w", Ref(s), client.Explain(err, kube.ApplicationSets))
	}
	call(r.Deleting, Ref(s))
	if err := waitGone(ctx, client, s, timeout, groupApps(env, s.GetLabels()[platform.LayerLabel])); err != nil {
		return fmt.Errorf("pruning %s: %w", Ref(s), err)
	}
	return nil
}

// waitGone waits, up to timeout, until an ApplicationSet being deleted is
// gone (or replaced: another UID). apps names its Applications, for the message.
func waitGone(ctx context.Context, client *kube.Client, s *unstructured.Unstructured, timeout time.Duration, apps string) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := client.Watch(wctx, kube.ApplicationSets, s.GetNamespace(), kube.Named(s.GetName()))
	for snap := range w.C {
		if cur, still := snap[s.GetName()]; !still || cur.GetUID() != s.GetUID() {
			return nil
		}
	}
	if err := w.Err(); err != nil {
		return err
	}
	if ctx.Err() != nil { // the command's own end, not this wait's
		return ctx.Err()
	}
	if apps == "" {
		apps = "-l " + platform.LayerLabel + "=" + s.GetLabels()[platform.LayerLabel]
	}
	return fmt.Errorf("%s is still being deleted after %s (its Applications are being deleted; see kubectl -n %s get applications %s)",
		Ref(s), timeout, s.GetNamespace(), apps)
}

// groupApps names the Applications a layer's ApplicationSet generates, as the
// tree names them (the rendered ApplicationSets are read once per command).
func groupApps(env *platform.Env, layer string) string {
	sets, err := env.AppSets()
	if err != nil || sets.Layers[layer] == nil {
		return ""
	}
	var names []string
	for _, l := range env.Descriptor.Layers {
		if l.Name != layer {
			continue
		}
		for _, g := range l.Groups {
			names = append(names, sets.Layers[layer].GroupApps[g.Name])
		}
	}
	return strings.Join(names, " ")
}

// LayersOf names the layers of ApplicationSets.
func LayersOf(sets []unstructured.Unstructured) []string {
	var out []string
	for _, s := range sets {
		out = append(out, s.GetLabels()[platform.LayerLabel])
	}
	return out
}
