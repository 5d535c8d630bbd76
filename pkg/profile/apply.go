package profile

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// ApplyOptions say how to apply a profile.
type ApplyOptions struct {
	DryRun  bool          // the server validates everything, nothing is persisted
	Prune   bool          // delete the layers outside the profile
	Timeout time.Duration // how long a layer being deleted may take to go
}

// ApplyReport is told what Apply does as it does it; any field may be nil.
type ApplyReport struct {
	Applied     func(ref, verb string) // "created", "configured" or "unchanged"
	WaitingOut  func(ref string)       // a member an earlier prune is deleting is waited out
	LeftApplied func(layers []string)  // layers outside the profile kept (no Prune)
	PrunePlan   func(sets []unstructured.Unstructured)
	Deleting    func(ref string)
	Pruned      func(ref string)
}

// ApplyStage is how far an apply got.
type ApplyStage string

// The stages of an apply, in order.
const (
	ApplyChecking  ApplyStage = "checking"  // the server-side dry run: nothing written
	ApplyWaiting   ApplyStage = "waiting"   // a member being deleted: nothing written
	ApplyWriting   ApplyStage = "writing"   // Done of Total members written
	ApplyRecording ApplyStage = "recording" // every member written, the profile not recorded
	ApplyPruning   ApplyStage = "pruning"   // Done of Total layers pruned
)

// ApplyError is an apply that failed, and how far it got.
type ApplyError struct {
	Stage       ApplyStage
	Object      string // the object it was at
	Done, Total int
	Profile     string
	Err         error
}

func (e *ApplyError) Error() string { return e.Err.Error() }
func (e *ApplyError) Unwrap() error { return e.Err }

// Apply applies profile p's objects, then prunes when asked. Nothing is
// written until every object (the ApplySet parent included) has passed a
// server-side dry run, which the API server runs with the same validation and
// permission checks as the write; a member that is still being deleted is
// waited out first. The parent records the new profile only after every
// member landed, so a failure halfway leaves it naming the profile that is
// really applied.
func Apply(ctx context.Context, client *kube.Client, env *platform.Env, p platform.Profile, opts ApplyOptions, r ApplyReport) error {
	objs, err := Desired(env, p)
	if err != nil {
		return err
	}
	if err := CheckProject(ctx, client, env); err != nil {
		return err
	}
	set := ApplySet(env)
	// Everything about the live set is read before the first write.
	liveParent, err := set.GetParent(ctx, client)
	if err != nil {
		return err
	}
	live, liveSets, err := members(ctx, client, set)
	if err != nil {
		return err
	}
	toPrune := prunable(env, p, liveSets, objs)

	// The parent is written twice: first with the superset of group-kinds and the
	// previous profile (as kubectl's ApplySet does, so the set is known before any
	// member lands), last with the new profile once the members are in.
	previous := map[string]string{}
	if liveParent != nil {
		for _, k := range []string{AppliedProfileAnnotation, AppliedLayersAnnotation} {
			if v, ok := liveParent.GetAnnotations()[k]; ok {
				previous[k] = v
			}
		}
	}
	first := set.Parent(previous)
	last := set.Parent(map[string]string{AppliedProfileAnnotation: p.Name, AppliedLayersAnnotation: strings.Join(p.Layers, ",")})

	// The dry run's answers are the whole result of a dry run: it asks once.
	checked := make([]*unstructured.Unstructured, len(objs))
	for i, obj := range append([]*unstructured.Unstructured{last}, objs...) {
		out, err := client.Apply(ctx, obj, FieldManager, true)
		if err != nil {
			return &ApplyError{Stage: ApplyChecking, Object: Ref(obj), Profile: p.Name,
				Err: fmt.Errorf("nothing was written: the server-side dry run refused %s: %w", Ref(obj), err)}
		}
		if i > 0 {
			checked[i-1] = out
		}
	}
	if !opts.DryRun {
		if err := waitOutDeletions(ctx, client, env, objs, live, opts.Timeout, r); err != nil {
			return err
		}
		if _, err := client.Apply(ctx, first, FieldManager, false); err != nil {
			return err
		}
	}
	for i, obj := range objs {
		out, err := checked[i], error(nil)
		if !opts.DryRun {
			out, err = client.Apply(ctx, obj, FieldManager, false)
		}
		if err != nil {
			return &ApplyError{Stage: ApplyWriting, Object: Ref(obj), Done: i, Total: len(objs), Profile: p.Name, Err: err}
		}
		verb := "configured"
		switch m, ok := live[obj.GetKind()+"/"+obj.GetName()]; {
		case !ok:
			verb = "created"
		case m.GetResourceVersion() == out.GetResourceVersion():
			verb = "unchanged"
		}
		call2(r.Applied, Ref(obj), verb)
	}
	if !opts.DryRun {
		if _, err := client.Apply(ctx, last, FieldManager, false); err != nil {
			return &ApplyError{Stage: ApplyRecording, Done: len(objs), Total: len(objs), Profile: p.Name, Err: err}
		}
	}
	return prune(ctx, client, env, toPrune, opts, r)
}

// members reads the live members of the set, by kind/name, and its ApplicationSets.
func members(ctx context.Context, client *kube.Client, set kube.ApplySet) (map[string]*unstructured.Unstructured, []unstructured.Unstructured, error) {
	live := map[string]*unstructured.Unstructured{}
	var sets []unstructured.Unstructured
	for _, k := range set.Kinds {
		ms, err := set.Members(ctx, client, k)
		if err != nil {
			return nil, nil, err
		}
		for i := range ms {
			live[ms[i].GetKind()+"/"+ms[i].GetName()] = &ms[i]
		}
		if k == kube.ApplicationSets {
			sets = ms
		}
	}
	return live, sets, nil
}

// waitOutDeletions waits until the members an earlier prune is still
// deleting are gone, so that they are created again, not patched on their way out.
func waitOutDeletions(ctx context.Context, client *kube.Client, env *platform.Env, objs []*unstructured.Unstructured, live map[string]*unstructured.Unstructured, timeout time.Duration, r ApplyReport) error {
	for _, obj := range objs {
		m := live[obj.GetKind()+"/"+obj.GetName()]
		if m == nil || m.GetDeletionTimestamp() == nil {
			continue
		}
		call(r.WaitingOut, Ref(obj))
		if err := waitGone(ctx, client, m, timeout, groupApps(env, m.GetLabels()[platform.LayerLabel])); err != nil {
			return &ApplyError{Stage: ApplyWaiting, Object: Ref(obj), Err: fmt.Errorf("nothing was written: %w", err)}
		}
		delete(live, obj.GetKind()+"/"+obj.GetName())
	}
	return nil
}

// CheckProject refuses, before any write, ApplicationSets whose AppProject is
// neither rendered with them nor in the cluster: Argo CD would generate none
// of their apps, and say so only in the ApplicationSets' status.
func CheckProject(ctx context.Context, client *kube.Client, env *platform.Env) error {
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

func call[T any](f func(T), v T) {
	if f != nil {
		f(v)
	}
}

func call2[T, U any](f func(T, U), t T, u U) {
	if f != nil {
		f(t, u)
	}
}
