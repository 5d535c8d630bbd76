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

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
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
	// ExpiresAt is the open gate's lease after the change.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// CheckSafe refuses to open a scale gate Argo CD or an autoscaler would
// undo: the live Application must ignore the target's /spec/replicas with
// RespectIgnoreDifferences, no KEDA ScaledObject on the target may be
// running, and no HorizontalPodAutoscaler may scale it.
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
	w := WorkloadOf(app)
	scales := func(o *unstructured.Unstructured) bool {
		name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		return name == gate.Target.Name && scaleTargetKind(o) == gate.Target.Kind
	}
	objs, err := g.Backend.Beside(ctx, w, ScaledObjects)
	if err != nil {
		return err
	}
	for _, so := range objs {
		ann := so.GetAnnotations()
		_, pausedReplicas := ann["autoscaling.keda.sh/paused-replicas"]
		if scales(so) && ann["autoscaling.keda.sh/paused"] != "true" && !pausedReplicas {
			return fmt.Errorf("refusing to scale %s: KEDA ScaledObject %s/%s owns the replicas of %s and is not paused (annotate it autoscaling.keda.sh/paused: \"true\")",
				app.Name, so.GetNamespace(), so.GetName(), gate.Target)
		}
	}
	hpas, err := g.Backend.Beside(ctx, w, kube.HPAs)
	if err != nil {
		return err
	}
	for _, hpa := range hpas {
		if scales(hpa) {
			return fmt.Errorf("refusing to scale %s: HorizontalPodAutoscaler %s/%s scales %s and would undo it (delete it, or gate %s with a sync gate)",
				app.Name, hpa.GetNamespace(), hpa.GetName(), gate.Target, app.Name)
		}
	}
	return nil
}

// OpenOptions say how far to open a gate, and what to record of it.
type OpenOptions struct {
	// Replicas is an explicit count (up --replicas). 0 keeps an open gate as it
	// is, and opens a closed one to the count remembered at its last down, else
	// to the gate's replicas annotation.
	Replicas int32
	// Force allows a count above the gate's max-replicas annotation, and a
	// lease above its max-open.
	Force bool
	// For is the gate's lease from now (up --for); 0 keeps an open gate's
	// lease and gives a closed one its max-open, if it has one.
	For time.Duration
	// By is who opens it; Reason why (up --reason).
	By, Reason string
}

// Open opens a gate: records on its Application who opens it, why and until
// when, then scales the workload (see OpenOptions) or removes the stop
// annotation; a sync gate (synced by the caller) only records. Each write is
// guarded by resourceVersion; a conflict (someone else changed it) is retried
// from a fresh read, so concurrent up/down never lose an update. The record
// comes first, so that no gate runs without the lease that closes it. An open
// gate is never lowered unless Replicas says so: the remembered count may be
// gone, and falling back to the gate's default would take replicas away from
// whoever opened it wider.
func (g *Gates) Open(ctx context.Context, app platform.App, opts OpenOptions) (Change, error) {
	now := g.Now() // once: each pass of a converging write decides the same record
	switch app.Gate.Kind {
	case platform.GateScale:
		return g.scale(ctx, app, func(liveApp *unstructured.Unstructured, current int64) (int64, map[string]any, error) {
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
				if prev, err := strconv.ParseInt(liveApp.GetAnnotations()[PreviousReplicasAnnotation], 10, 32); err == nil && prev > 0 {
					want, what = prev, fmt.Sprintf("the count remembered at the last down (%d, annotation %s on Application %s)", prev, PreviousReplicasAnnotation, app.Name)
				}
				if err := CheckReplicas(app, want, what, opts.Force); err != nil {
					return 0, nil, err
				}
			}
			return want, opening(app, liveApp, current > 0, opts, now), nil
		})
	case platform.GatePause:
		return g.annotate(ctx, app, "paused", "running", func(liveApp *unstructured.Unstructured, open bool) map[string]any {
			return opening(app, liveApp, open, opts, now)
		})
	}
	ch := Change{App: app.Name, Target: "Application " + app.Name, From: "deployed", To: "deployed"}
	err := g.recordOnApp(ctx, app, func(liveApp *unstructured.Unstructured) map[string]any {
		return opening(app, liveApp, SyncGateState(argocd.StatusOf(liveApp)) != StateDown, opts, now)
	}, &ch)
	return ch, err
}

// MarkOpened records on a sync gate's Application that it was opened (the
// sync that deployed it), so "up for" does not restart at every re-sync.
func (g *Gates) MarkOpened(ctx context.Context, app platform.App, opts OpenOptions) error {
	if _, err := g.Open(ctx, app, opts); err != nil {
		return fmt.Errorf("recording when %s was opened: %w", app.Name, err)
	}
	return nil
}

// opening is what an up records on the Application: when the gate opened
// (kept while it stays open), who opened it and why, and its lease.
func opening(app platform.App, liveApp *unstructured.Unstructured, open bool, opts OpenOptions, now time.Time) map[string]any {
	have := liveApp.GetAnnotations()
	ann := map[string]any{}
	if !open || have[OpenedAtAnnotation] == "" {
		ann[OpenedAtAnnotation] = now.UTC().Format(time.RFC3339)
		for _, stale := range []string{OpenedByAnnotation, OpenReasonAnnotation, ExpiresAtAnnotation} {
			if _, set := have[stale]; set {
				ann[stale] = nil // of an earlier opening
			}
		}
	}
	if opts.By != "" && (!open || have[OpenedByAnnotation] == "") {
		ann[OpenedByAnnotation] = opts.By
	}
	if opts.Reason != "" {
		ann[OpenReasonAnnotation] = opts.Reason
	}
	if end := leaseEnd(app, opts.For, open && have[OpenedAtAnnotation] != "", now); end != nil {
		ann[ExpiresAtAnnotation] = end.Format(time.RFC3339)
	}
	return ann
}

// closing is what a down records on the Application: the count to restore
// at the next up (current, when it had one), and no opener or lease.
func closing(liveApp *unstructured.Unstructured, current int64) map[string]any {
	ann := map[string]any{}
	for _, k := range []string{OpenedAtAnnotation, OpenedByAnnotation, OpenReasonAnnotation, ExpiresAtAnnotation} {
		if _, set := liveApp.GetAnnotations()[k]; set {
			ann[k] = nil
		}
	}
	if current > 0 {
		ann[PreviousReplicasAnnotation] = strconv.FormatInt(current, 10)
	}
	return ann
}

// Close closes a gate and clears its opener and lease: scales to 0
// remembering the count, sets the stop annotation, or deletes what a sync
// gate's sync deployed (undeploy.go).
func (g *Gates) Close(ctx context.Context, app platform.App) (Change, error) {
	switch app.Gate.Kind {
	case platform.GateScale:
		return g.scale(ctx, app, func(liveApp *unstructured.Unstructured, current int64) (int64, map[string]any, error) {
			return 0, closing(liveApp, current), nil
		})
	case platform.GatePause:
		return g.annotate(ctx, app, "running", "paused", func(liveApp *unstructured.Unstructured, _ bool) map[string]any { return closing(liveApp, 0) })
	}
	ch, _, err := g.closeSync(ctx, app, false)
	return ch, err
}

// scale records on the Application and sets the replicas, both computed from
// a fresh read of the app and the workload's scale.
func (g *Gates) scale(ctx context.Context, app platform.App, decide func(liveApp *unstructured.Unstructured, current int64) (int64, map[string]any, error)) (Change, error) {
	w := WorkloadOf(app)
	ch := Change{App: app.Name, Target: app.Gate.Target.String()}
	err := g.converge(ctx, w.String(), &ch, func(wrote *bool) error {
		liveApp, err := g.Application(ctx, app)
		if err != nil {
			return cutOr(ctx, err)
		}
		sc, err := g.Backend.Scale(ctx, w)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s does not exist: sync the app first (%s sync %s)", w, g.Host.Cmd("costgate"), app.Name)
		}
		if err != nil {
			return cutOr(ctx, err)
		}
		want, ann, err := decide(liveApp, sc.Replicas)
		if err != nil {
			return err
		}
		if !ch.Changed {
			ch.From = strconv.FormatInt(sc.Replicas, 10)
		}
		ch.To, ch.Replicas = strconv.FormatInt(want, 10), want
		if err := g.recordFrom(ctx, app, liveApp, ann, &ch, wrote); err != nil {
			return err
		}
		if sc.Replicas == want {
			return nil
		}
		if err := g.Backend.PatchScale(ctx, w, want, sc.ResourceVersion); err != nil {
			return cutOr(ctx, err)
		}
		*wrote = true
		return nil
	})
	return ch, err
}

// maxPasses bounds converge when another writer keeps undoing each pass.
const maxPasses = 20

// converge runs pass (a fresh read of the Application and the workload, then
// the writes that make them what the verb wants) until a pass writes
// nothing. The record and the workload are two objects: a concurrent up and
// down could each land one of their writes, so each verb reads both again
// after writing, and the one that reads last leaves both as it wants them. A
// conflict starts a pass again from a fresh read.
func (g *Gates) converge(ctx context.Context, what string, ch *Change, pass func(wrote *bool) error) error {
	return retryOnConflict(ctx, what, func() error {
		for range maxPasses {
			wrote := false
			if err := pass(&wrote); err != nil {
				return err
			}
			if !wrote {
				return nil
			}
			ch.Changed = true
		}
		return fmt.Errorf("%s kept changing under this write (%d passes, another writer?)", what, maxPasses)
	})
}

// annotate records on the Application, then sets or removes the stop
// annotation of a pause gate's InferenceService.
func (g *Gates) annotate(ctx context.Context, app platform.App, from, to string, record func(liveApp *unstructured.Unstructured, open bool) map[string]any) (Change, error) {
	w := WorkloadOf(app)
	ch := Change{App: app.Name, Target: app.Gate.Target.String(), From: from, To: to}
	err := g.converge(ctx, w.String(), &ch, func(wrote *bool) error {
		liveApp, err := g.Application(ctx, app)
		if err != nil {
			return cutOr(ctx, err)
		}
		live, err := g.Backend.Workload(ctx, w)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s does not exist: sync the app first (%s sync %s)", w, g.Host.Cmd("costgate"), app.Name)
		}
		if err != nil {
			return cutOr(ctx, err)
		}
		stopped := strings.EqualFold(live.GetAnnotations()[StopAnnotation], "true")
		if !ch.Changed {
			ch.From = from
			if stopped == (to == "paused") {
				ch.From = to
			}
		}
		if err := g.recordFrom(ctx, app, liveApp, record(liveApp, !stopped), &ch, wrote); err != nil {
			return err
		}
		if stopped == (to == "paused") {
			return nil
		}
		stop := map[string]any{StopAnnotation: nil}
		if to == "paused" {
			stop[StopAnnotation] = "true"
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": stop, "resourceVersion": live.GetResourceVersion()}})
		if err := g.Backend.PatchWorkload(ctx, w, patch); err != nil {
			return cutOr(ctx, err)
		}
		*wrote = true
		return nil
	})
	return ch, err
}

// recordOnApp writes on the Application what record computes from a fresh
// read of it, retrying on a conflict.
func (g *Gates) recordOnApp(ctx context.Context, app platform.App, record func(liveApp *unstructured.Unstructured) map[string]any, ch *Change) error {
	return g.converge(ctx, "Application "+app.Name, ch, func(wrote *bool) error {
		liveApp, err := g.Application(ctx, app)
		if err != nil {
			return cutOr(ctx, err)
		}
		return g.recordFrom(ctx, app, liveApp, record(liveApp), ch, wrote)
	})
}

// recordFrom writes ann on the Application read as liveApp, guarded by its
// resourceVersion; nothing when it holds them already.
func (g *Gates) recordFrom(ctx context.Context, app platform.App, liveApp *unstructured.Unstructured, ann map[string]any, ch *Change, wrote *bool) error {
	ch.ExpiresAt = annotatedTime(liveApp, ExpiresAtAnnotation)
	if v, set := ann[ExpiresAtAnnotation]; set {
		ch.ExpiresAt = nil
		if t, err := time.Parse(time.RFC3339, fmt.Sprint(v)); err == nil {
			ch.ExpiresAt = &t
		}
	}
	if !needsAnnotations(liveApp, ann) {
		return nil
	}
	if err := g.Backend.AnnotateApplication(ctx, app.Name, ann, liveApp.GetResourceVersion()); err != nil {
		return cutOr(ctx, err)
	}
	*wrote = true
	return nil
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
