package costgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// FieldManager owns the fields costgate writes (replicas, the stop annotation), so
// Argo CD users can exclude them with managedFieldsManagers.
const FieldManager = "kubectl-costgate"

// ScaledObjects is KEDA's kind; optional in a cluster.
var ScaledObjects = kube.Kind{GVR: schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}, Kind: "ScaledObject", Namespaced: true}

// Gates opens and closes gates on one cluster.
type Gates struct {
	Client    *kube.Client
	Namespace string // Argo CD's, where the Applications are
	Now       func() time.Time
	// API, when set, is server mode: everything goes through Argo CD's API
	// (Client is unused), under Argo CD's RBAC for Project's apps.
	API     ArgoAPI
	Project string
}

var (
	getOptions   = metav1.GetOptions{}
	patchOptions = metav1.PatchOptions{FieldManager: FieldManager}
	mergePatch   = types.MergePatchType
)

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
		return fmt.Errorf("refusing to scale %s: Application %s has no ignoreDifferences on /spec/replicas of %s, so a sync would undo it (kubectl costgate lint says how to fix %s)",
			app.Name, app.Name, gate.Target, app.File)
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

// scaledObjects lists the KEDA ScaledObjects in the gate's namespace (through
// its app in server mode); none when KEDA is not installed.
func (g *Gates) scaledObjects(ctx context.Context, app platform.App) ([]*unstructured.Unstructured, error) {
	if g.API != nil {
		return g.scaledObjectsAPI(ctx, app)
	}
	list, err := g.Client.Resource(ScaledObjects, app.Gate.Target.Namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, g.Client.Explain(err, ScaledObjects)
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
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
	return Change{}, fmt.Errorf("%s is a sync gate: it opens with kubectl costgate sync %s", app.Name, app.Name)
}

// MarkOpened records on a sync gate's Application when it was opened (the
// sync that deployed it), so "up for" does not restart at every re-sync. The
// field manager is costgate's, so Argo CD's server-side diff of the group app
// that deploys the Application does not see it as drift.
func (g *Gates) MarkOpened(ctx context.Context, app platform.App) error {
	ann := map[string]any{OpenedAtAnnotation: g.Now().UTC().Format(time.RFC3339)}
	if g.API != nil {
		if err := g.API.AnnotateApplication(ctx, app.Name, ann); err != nil {
			return fmt.Errorf("recording when %s was opened: %w", app.Name, err)
		}
		return nil
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	_, err := g.Client.Resource(kube.Applications, g.Namespace).Patch(ctx, app.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("recording when %s was opened: %w", app.Name, g.Client.Explain(err, kube.Applications))
	}
	return nil
}

// Close closes a gate: scales to 0 remembering the count, or sets the stop annotation.
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
	return Change{}, fmt.Errorf("%s is a sync gate: nothing scales; it stays as synced (remove it with a profile that does not hold layer %s)", app.Name, app.Layer)
}

// scale patches replicas and annotations, computed from the live Deployment.
func (g *Gates) scale(ctx context.Context, app platform.App, decide func(d *unstructured.Unstructured, current int64) (int64, map[string]any, error)) (Change, error) {
	t := *app.Gate.Target
	ch := Change{App: app.Name, Target: t.String()}
	err := retryOnConflict(ctx, "Deployment "+t.Namespace+"/"+t.Name, func() error {
		d, err := g.get(ctx, app, kube.Deployments, t.Namespace, t.Name)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("Deployment %s/%s does not exist: sync the app first (kubectl costgate sync %s)", t.Namespace, t.Name, app.Name)
		}
		if err != nil {
			return g.explain(ctx, err, kube.Deployments)
		}
		current, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
		want, ann, err := decide(d, current)
		if err != nil {
			return err
		}
		ch.From, ch.To, ch.Replicas = strconv.FormatInt(current, 10), strconv.FormatInt(want, 10), want
		if current == want && !needsAnnotations(d, ann) {
			ch.Changed = false
			return nil
		}
		patch, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": d.GetResourceVersion(), "annotations": ann},
			"spec":     map[string]any{"replicas": want},
		})
		err = g.patch(ctx, app, kube.Deployments, t.Namespace, t.Name, patch)
		ch.Changed = err == nil
		return g.explain(ctx, err, kube.Deployments)
	})
	return ch, err
}

// explain says what a failed request means; a conflict stays one, for the
// retry, and a request cut by the command's own deadline or an interrupt says
// so rather than "cannot reach the cluster".
func (g *Gates) explain(ctx context.Context, err error, k kube.Kind) error {
	switch {
	case err == nil || apierrors.IsConflict(err):
		return err
	case ctx.Err() != nil && errors.Is(err, ctx.Err()): // says already what it waited on
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	case g.API != nil: // explained by the API client already
		return err
	}
	return g.Client.Explain(err, k)
}

// annotate patches an InferenceService's annotations.
func (g *Gates) annotate(ctx context.Context, app platform.App, ann map[string]any, from, to string) (Change, error) {
	t := *app.Gate.Target
	ch := Change{App: app.Name, Target: t.String(), From: from, To: to}
	err := retryOnConflict(ctx, "InferenceService "+t.Namespace+"/"+t.Name, func() error {
		obj, err := g.get(ctx, app, kube.InferenceServices, t.Namespace, t.Name)
		if kube.IsMissingKind(err) && g.API == nil {
			return g.Client.Explain(err, kube.InferenceServices)
		}
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("InferenceService %s/%s does not exist: sync the app first (kubectl costgate sync %s)", t.Namespace, t.Name, app.Name)
		}
		if err != nil {
			return g.explain(ctx, err, kube.InferenceServices)
		}
		stopped := strings.EqualFold(obj.GetAnnotations()[StopAnnotation], "true")
		if stopped == (to == "paused") {
			ch.From, ch.Changed = to, false
			return nil
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": obj.GetResourceVersion(), "annotations": ann}})
		err = g.patch(ctx, app, kube.InferenceServices, t.Namespace, t.Name, patch)
		ch.Changed = err == nil
		return g.explain(ctx, err, kube.InferenceServices)
	})
	return ch, err
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
