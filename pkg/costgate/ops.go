package costgate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// FieldManager owns the fields costgate writes (replicas, the stop annotation), so
// Argo CD users can exclude them with managedFieldsManagers.
const FieldManager = "kubectl-costgate"

// ScaledObjects is KEDA's kind; optional in a cluster.
var ScaledObjects = kube.Kind{GVR: schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}, Kind: "ScaledObject", Namespaced: true}

// Gates opens and closes gates on one cluster, through one Backend: the
// mode is the backend's, decided once per invocation.
type Gates struct {
	Backend   Backend
	Host      platform.Host // the CLI messages name commands of
	Namespace string        // Argo CD's, where the Applications are
	Now       func() time.Time
}

// Change is what an open or close did.
type Change struct {
	App      string `json:"app"`
	Target   string `json:"target"`
	From     string `json:"from"`
	To       string `json:"to"`
	Replicas int64  `json:"replicas,omitempty"`
	Changed  bool   `json:"changed"`
}

// CheckSafe refuses to open a scale gate Argo CD or KEDA would undo: the live
// Application must ignore the target's /spec/replicas with RespectIgnoreDifferences,
// and no KEDA ScaledObject on the target may be running.
func (g *Gates) CheckSafe(ctx context.Context, app platform.App, liveApp *unstructured.Unstructured) error {
	gate := app.Gate
	if gate.Kind != platform.GateScale {
		return nil
	}
	live := platform.App{Name: app.Name, Manifest: liveApp.Object}
	if !ignoresReplicas(live, *gate.Target) {
		return fmt.Errorf("refusing to scale %s: Application %s has no ignoreDifferences on /spec/replicas of %s, so a sync would undo it (%s lint says how to fix %s)",
			app.Name, app.Name, gate.Target, g.Host.Cmd("costgate"), app.File)
	}
	if !slices.Contains(syncOptions(live), "RespectIgnoreDifferences=true") {
		return fmt.Errorf("refusing to scale %s: Application %s lacks the sync option RespectIgnoreDifferences=true, so a sync would reset the replicas (fix %s)",
			app.Name, app.Name, app.File)
	}
	objs, err := g.scaledObjects(ctx, app)
	if err != nil {
		return err
	}
	for _, so := range objs {
		target, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
		ann := so.GetAnnotations()
		_, pausedReplicas := ann["autoscaling.keda.sh/paused-replicas"]
		if target == gate.Target.Name && ann["autoscaling.keda.sh/paused"] != "true" && !pausedReplicas {
			return fmt.Errorf("refusing to scale %s: KEDA ScaledObject %s/%s owns the replicas of %s and is not paused (annotate it autoscaling.keda.sh/paused: \"true\")",
				app.Name, so.GetNamespace(), so.GetName(), gate.Target)
		}
	}
	return nil
}

// scaledObjects lists the KEDA ScaledObjects beside the gate's workload;
// none when KEDA is not installed.
func (g *Gates) scaledObjects(ctx context.Context, app platform.App) ([]*unstructured.Unstructured, error) {
	return g.Backend.Beside(ctx, WorkloadOf(app), ScaledObjects)
}

// OpenOptions say how far to open a scale gate.
type OpenOptions struct {
	// Replicas is an explicit count (up --replicas). 0 keeps an open gate as it
	// is, and opens a closed one to the count remembered at its last down, else
	// to the gate's replicas annotation.
	Replicas int32
	// Force allows a count above the gate's max-replicas annotation.
	Force bool
}

// Open opens a gate: scales the Deployment (see OpenOptions), or removes the
// stop annotation. One write, guarded by resourceVersion; a conflict (someone
// else changed it) is retried from a fresh read, so concurrent up/down never
// lose an update. An open gate is never lowered unless Replicas says so: the
// remembered count may be gone, and falling back to the gate's default would
// take replicas away from whoever opened it wider.
func (g *Gates) Open(ctx context.Context, app platform.App, opts OpenOptions) (Change, error) {
	switch app.Gate.Kind {
	case platform.GateScale:
		return g.scale(ctx, app, func(d *unstructured.Unstructured, current int64) (int64, map[string]any, error) {
			want := int64(opts.Replicas)
			switch {
			case want > 0:
				if err := CheckReplicas(app, want, fmt.Sprintf("--replicas %d", want), opts.Force); err != nil {
					return 0, nil, err
				}
			case current > 0:
				want = current
			default:
				want = int64(app.Gate.Replicas)
				what := fmt.Sprintf("the gate's replicas annotation (%d)", want)
				if prev, err := strconv.ParseInt(d.GetAnnotations()[PreviousReplicasAnnotation], 10, 32); err == nil && prev > 0 {
					want, what = prev, fmt.Sprintf("the count remembered at the last down (%d, annotation %s)", prev, PreviousReplicasAnnotation)
				}
				if err := CheckReplicas(app, want, what, opts.Force); err != nil {
					return 0, nil, err
				}
			}
			ann := map[string]any{PreviousReplicasAnnotation: nil}
			if current == 0 {
				ann[OpenedAtAnnotation] = g.Now().UTC().Format(time.RFC3339)
			}
			return want, ann, nil
		})
	case platform.GatePause:
		return g.annotate(ctx, app, map[string]any{StopAnnotation: nil, OpenedAtAnnotation: g.Now().UTC().Format(time.RFC3339)}, "paused", "running")
	}
	return Change{}, fmt.Errorf("%s is a sync gate: it opens with %s sync %s", app.Name, g.Host.Cmd("costgate"), app.Name)
}

// MarkOpened records on a sync gate's Application when it was opened (the
// sync that deployed it), so "up for" does not restart at every re-sync. The
// field manager is costgate's, so Argo CD's server-side diff of the group app
// that deploys the Application does not see it as drift.
func (g *Gates) MarkOpened(ctx context.Context, app platform.App) error {
	ann := map[string]any{OpenedAtAnnotation: g.Now().UTC().Format(time.RFC3339)}
	if err := g.Backend.AnnotateApplication(ctx, app.Name, ann); err != nil {
		return fmt.Errorf("recording when %s was opened: %w", app.Name, err)
	}
	return nil
}

// Close closes a gate: scales to 0 remembering the count, sets the stop
// annotation, or deletes what a sync gate's sync deployed (undeploy.go).
func (g *Gates) Close(ctx context.Context, app platform.App) (Change, error) {
	switch app.Gate.Kind {
	case platform.GateScale:
		return g.scale(ctx, app, func(d *unstructured.Unstructured, current int64) (int64, map[string]any, error) {
			ann := map[string]any{OpenedAtAnnotation: nil}
			if current > 0 {
				ann[PreviousReplicasAnnotation] = strconv.FormatInt(current, 10)
			}
			return 0, ann, nil
		})
	case platform.GatePause:
		return g.annotate(ctx, app, map[string]any{StopAnnotation: "true", OpenedAtAnnotation: nil}, "running", "paused")
	}
	ch, _, err := g.closeSync(ctx, app, false)
	return ch, err
}

// scale patches replicas and annotations, computed from the live workload.
func (g *Gates) scale(ctx context.Context, app platform.App, decide func(d *unstructured.Unstructured, current int64) (int64, map[string]any, error)) (Change, error) {
	ch := Change{App: app.Name, Target: app.Gate.Target.String()}
	err := g.write(ctx, app, func(live *unstructured.Unstructured) (map[string]any, error) {
		current, _, _ := unstructured.NestedInt64(live.Object, "spec", "replicas")
		want, ann, err := decide(live, current)
		if err != nil {
			return nil, err
		}
		ch.From, ch.To, ch.Replicas = strconv.FormatInt(current, 10), strconv.FormatInt(want, 10), want
		if current == want && !needsAnnotations(live, ann) {
			return nil, nil
		}
		return map[string]any{"metadata": map[string]any{"annotations": ann}, "spec": map[string]any{"replicas": want}}, nil
	}, &ch.Changed)
	return ch, err
}

// annotate sets or removes the stop annotation of a pause gate's workload.
func (g *Gates) annotate(ctx context.Context, app platform.App, ann map[string]any, from, to string) (Change, error) {
	ch := Change{App: app.Name, Target: app.Gate.Target.String(), From: from, To: to}
	err := g.write(ctx, app, func(live *unstructured.Unstructured) (map[string]any, error) {
		stopped := strings.EqualFold(live.GetAnnotations()[StopAnnotation], "true")
		if stopped == (to == "paused") {
			ch.From = to
			return nil, nil
		}
		return map[string]any{"metadata": map[string]any{"annotations": ann}}, nil
	}, &ch.Changed)
	return ch, err
}

// write reads the gate's workload, asks change for a merge patch (nil: as
// wanted already), and patches it guarded by the read's resourceVersion; a
// conflict (someone else changed it) starts again from a fresh read.
func (g *Gates) write(ctx context.Context, app platform.App, change func(live *unstructured.Unstructured) (map[string]any, error), changed *bool) error {
	w := WorkloadOf(app)
	return retryOnConflict(ctx, w.String(), func() error {
		*changed = false
		live, err := g.Backend.Workload(ctx, w)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s does not exist: sync the app first (%s sync %s)", w, g.Host.Cmd("costgate"), app.Name)
		}
		if err != nil {
			return cutOr(ctx, err)
		}
		patch, err := change(live)
		if err != nil || patch == nil {
			return err
		}
		meta, _ := patch["metadata"].(map[string]any)
		meta["resourceVersion"] = live.GetResourceVersion()
		body, _ := json.Marshal(patch)
		if err := g.Backend.PatchWorkload(ctx, w, body); err != nil {
			return cutOr(ctx, err)
		}
		*changed = true
		return nil
	})
}

// needsAnnotations says whether applying ann would change d's annotations.
func needsAnnotations(d *unstructured.Unstructured, ann map[string]any) bool {
	have := d.GetAnnotations()
	for k, v := range ann {
		cur, set := have[k]
		switch {
		case v == nil && set:
			return true
		case v != nil && (!set || cur != v):
			return true
		}
	}
	return false
}
