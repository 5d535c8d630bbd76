package costgate

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// ReadLive makes one LIST per kind: the Applications in Argo CD's namespace, and
// Deployments and InferenceServices in every namespace (in server mode: the
// Applications, and the targets of gates, one read each). KServe not installed
// means every InferenceService is absent, not an error.
func (g *Gates) ReadLive(ctx context.Context, gates []platform.App) (Live, error) {
	if g.API != nil {
		return g.readLiveAPI(ctx, gates)
	}
	live := Live{Apps: map[string]*unstructured.Unstructured{}, Deployments: map[string]*unstructured.Unstructured{}, InferenceServices: map[string]*unstructured.Unstructured{}}
	apps, err := g.Client.Resource(kube.Applications, g.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return live, g.Client.Explain(err, kube.Applications)
	}
	for i := range apps.Items {
		live.Apps[apps.Items[i].GetName()] = &apps.Items[i]
	}
	for _, k := range []struct {
		kind kube.Kind
		into map[string]*unstructured.Unstructured
	}{{kube.Deployments, live.Deployments}, {kube.InferenceServices, live.InferenceServices}} {
		list, err := g.Client.Dynamic.Resource(k.kind.GVR).List(ctx, metav1.ListOptions{})
		if kube.IsMissingKind(err) {
			continue
		}
		if err != nil {
			return live, g.Client.Explain(err, k.kind)
		}
		for i := range list.Items {
			o := &list.Items[i]
			k.into[o.GetNamespace()+"/"+o.GetName()] = o
		}
	}
	return live, nil
}

// OpenGates returns the scale and pause gates that are open (up or starting) now.
func OpenGates(gated []platform.App, statuses []Status) []platform.App {
	var out []platform.App
	for i, st := range statuses {
		if gated[i].Gate.Kind != platform.GateSync && (st.State == StateUp || st.State == StateStarting) {
			out = append(out, gated[i])
		}
	}
	return out
}

// Closed is what closing one gate did: the change, whether the gate is closed
// (now or already), whether its pods are gone (when waited for), or why it failed.
type Closed struct {
	Change Change
	Closed bool
	Down   bool
	Err    error
}

// CloseAll closes each gate and then, with wait, waits until their pods are gone.
// A gate that fails does not stop the others: every gate is tried and each
// result reported (report is called as each write lands; progress with what a
// wait waits on). Each gate's permissions are checked before its write, so a
// gate the user may not close is reported untouched, not half done.
func (g *Gates) CloseAll(ctx context.Context, apps []platform.App, wait bool, report func(Change), progress func(app, msg string)) []Closed {
	out := make([]Closed, len(apps))
	for i, app := range apps {
		if err := g.Authorize(ctx, GatePermissions(app, wait)); err != nil {
			out[i].Err = err
			continue
		}
		ch, err := g.Close(ctx, app)
		out[i] = Closed{Change: ch, Closed: err == nil, Err: err}
		if err == nil && report != nil {
			report(ch)
		}
	}
	if !wait {
		return out
	}
	for i, app := range apps {
		if out[i].Err != nil {
			continue
		}
		err := g.WaitClosed(ctx, app, func(msg string) {
			if progress != nil {
				progress(app.Name, msg)
			}
		})
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%s is closed but its pods are still there: %w", app.Name, err)
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Down = true
	}
	return out
}

// Application reads a gate's live Application; a missing one says which layer
// to apply.
func (g *Gates) Application(ctx context.Context, app platform.App) (*unstructured.Unstructured, error) {
	if g.API != nil {
		live, err := g.API.Application(ctx, app.Name)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("Application %s does not exist: apply a profile that holds layer %s (profile apply)", app.Name, app.Layer)
		}
		return live, err
	}
	live, err := g.Client.Resource(kube.Applications, g.Namespace).Get(ctx, app.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && !kube.IsMissingKind(err) {
		return nil, fmt.Errorf("Application %s does not exist: apply a profile that holds layer %s (kubectl profile apply)", app.Name, app.Layer)
	}
	if err != nil {
		return nil, g.Client.Explain(err, kube.Applications)
	}
	return live, nil
}
