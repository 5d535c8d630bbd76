package costgate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// WaitOpen waits until an opened gate's workload is ready, telling progress what
// it waits on each time that changes (pods Pending and why, image pulls, Ready).
// It is one watch on the target and one on its pods.
func (g *Gates) WaitOpen(ctx context.Context, app platform.App, progress func(string)) error {
	return g.waitTarget(ctx, app, progress, true)
}

// WaitClosed waits until a closed gate's pods are gone (a sync gate's: what
// its close deleted, and their pods).
func (g *Gates) WaitClosed(ctx context.Context, app platform.App, progress func(string)) error {
	if app.Gate.Kind == platform.GateSync {
		return g.waitUndeployed(ctx, app, progress)
	}
	return g.waitTarget(ctx, app, progress, false)
}

func (g *Gates) waitTarget(ctx context.Context, app platform.App, progress func(string), open bool) error {
	w := WorkloadOf(app)
	last := ""
	say := func(msg string) {
		if msg != last && progress != nil {
			progress(msg)
		}
		last = msg
	}
	err := g.Backend.WatchWorkload(ctx, w, func(live *unstructured.Unstructured, pods kube.Snapshot) (bool, error) {
		if live == nil {
			if open {
				say(fmt.Sprintf("%s does not exist yet", app.Gate.Target))
			}
			return !open, nil
		}
		done, msg, err := evaluate(app, live, pods, open)
		if err == nil {
			say(msg)
		}
		return done, err
	})
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%s: %w (last: %s)", app.Name, ctx.Err(), last)
	}
	return err
}

// evaluate says whether the wait is over, and what it is waiting on. A gate
// that someone else closed (or opened) meanwhile ends the wait with an error:
// waiting on "0/0 ready" would never end.
func evaluate(app platform.App, target *unstructured.Unstructured, pods kube.Snapshot, open bool) (bool, string, error) {
	var live []corev1.Pod
	for _, u := range pods {
		var p corev1.Pod
		if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p) == nil {
			live = append(live, p)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	desired, _, _ := unstructured.NestedInt64(target.Object, "spec", "replicas")
	stopped := strings.EqualFold(target.GetAnnotations()[StopAnnotation], "true")
	pause := app.Gate.Kind == platform.GatePause
	switch {
	case open && pause && stopped:
		return false, "", fmt.Errorf("%s was paused by someone else while waiting (%s=true)", app.Name, StopAnnotation)
	case open && !pause && desired == 0:
		return false, "", fmt.Errorf("%s was closed by someone else while waiting (replicas 0)", app.Name)
	case !open && pause && !stopped:
		return false, "", fmt.Errorf("%s was resumed by someone else while waiting for its pods to go", app.Name)
	case !open && !pause && desired > 0:
		return false, "", fmt.Errorf("%s was opened by someone else while waiting for its pods to go (replicas %d)", app.Name, desired)
	}
	if !open {
		if len(live) == 0 {
			return true, "no pods left", nil
		}
		return false, fmt.Sprintf("waiting for %d pod(s) to go: %s", len(live), podNames(live)), nil
	}
	if pause {
		if conditionTrue(target, "Ready") {
			return true, "InferenceService Ready", nil
		}
		return false, "waiting for the InferenceService to be Ready" + podsSummary(live), nil
	}
	// Ready replicas where the kind reports them (Deployment, StatefulSet,
	// LeaderWorkerSet), else its Ready pods (a custom resource's /scale selector).
	ready, reported, _ := unstructured.NestedInt64(target.Object, "status", "readyReplicas")
	if !reported {
		ready = 0
		for _, p := range live {
			if PodProblem(p) == "" {
				ready++
			}
		}
	}
	if ready >= desired {
		return true, fmt.Sprintf("%d/%d ready", ready, desired), nil
	}
	return false, fmt.Sprintf("%d/%d ready", ready, desired) + podsSummary(live), nil
}

func podNames(pods []corev1.Pod) string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

func podsSummary(pods []corev1.Pod) string {
	var parts []string
	for _, p := range pods {
		if why := PodProblem(p); why != "" {
			parts = append(parts, p.Name+": "+why)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// PodProblem says why a pod is not Ready, the way a person reads kubectl
// describe: unschedulable and why, image pulls, crashes, or not ready yet.
func PodProblem(p corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "terminating"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return "Pending: " + c.Message
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			if w.Message != "" {
				return w.Reason + ": " + w.Message
			}
			return w.Reason
		}
		if t := cs.State.Terminated; t != nil {
			return "terminated: " + t.Reason
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return ""
		}
	}
	if p.Spec.NodeName == "" {
		return "Pending: not scheduled yet"
	}
	return string(p.Status.Phase) + ", not Ready yet (on " + p.Spec.NodeName + ")"
}
