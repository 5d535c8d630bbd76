package costgate

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// ReadLive reads the Applications and the workloads of the gates, in the
// backend's fewest reads.
func (g *Gates) ReadLive(ctx context.Context, gates []platform.App) (Live, error) {
	return g.Backend.Live(ctx, Workloads(gates))
}

// OpenGates returns the gates that are open (up or starting) now.
func OpenGates(gated []platform.App, statuses []Status) []platform.App {
	var out []platform.App
	for i, st := range statuses {
		if st.State == StateUp || st.State == StateStarting {
			out = append(out, gated[i])
		}
	}
	return out
}

// Closed is what closing one gate did: the change, whether the gate is closed
// (now or already), whether its pods are gone (when waited for), or why it failed.
type Closed struct {
	Change Change
	// Undeploy is what closing a sync gate did to each object it deployed.
	Undeploy *Undeploy
	Closed   bool
	Down     bool
	Err      error
}

// CloseAll closes each gate and then, with wait, waits until their pods are gone.
// A gate that fails does not stop the others: every gate is tried and each
// result reported (report is called as each close lands; progress with what a
// wait waits on). Each gate's permissions are checked before its write, so a
// gate the user may not close is reported untouched, not half done.
func (g *Gates) CloseAll(ctx context.Context, apps []platform.App, wait bool, report func(Closed), progress func(app, msg string)) []Closed {
	out := make([]Closed, len(apps))
	for i, app := range apps {
		if app.Gate.Kind == platform.GateSync { // checks its own permissions, the wait's too
			ch, u, err := g.closeSync(ctx, app, wait)
			out[i] = Closed{Change: ch, Undeploy: u, Closed: err == nil, Err: err}
		} else if err := g.Authorize(ctx, GatePermissions(g.Namespace, app, wait)); err != nil {
			out[i].Err = err
			continue
		} else {
			ch, err := g.Close(ctx, app)
			out[i] = Closed{Change: ch, Closed: err == nil, Err: err}
		}
		if out[i].Err == nil && report != nil {
			report(out[i])
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
		switch {
		case (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) && app.Gate.Kind == platform.GateSync:
			err = fmt.Errorf("%s is closed but what it deployed is still going: %w", app.Name, err)
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
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
	live, err := g.Backend.Application(ctx, app.Name)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("Application %s does not exist: apply a profile that holds layer %s (%s apply)", app.Name, app.Layer, g.Host.Cmd("profile"))
	}
	return live, err
}
