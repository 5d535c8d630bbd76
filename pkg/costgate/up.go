package costgate

import (
	"context"
	"fmt"
	"time"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// UpOptions say how to open a gate.
type UpOptions struct {
	OpenOptions
	Wait bool // until the workload is ready
}

// UpReport is told what Up does as it does it; any field may be nil.
type UpReport struct {
	Syncing  func(from argocd.AppStatus) // a sync starts first, from this state
	Progress func(argocd.AppStatus)      // the sync's progress
	Opened   func(Change)                // the write landed
	Waiting  func(msg string)            // what the wait waits on, as it changes
	Note     func(msg string)            // something the person should know (the lease, who could not be told)
}

// UpStage is how far an up got.
type UpStage string

// The stages of an up, in order.
const (
	UpChecking UpStage = "checking" // nothing was written
	UpSyncing  UpStage = "syncing"  // a sync was asked for, the gate is not open
	UpOpening  UpStage = "opening"  // the write did not land
	UpWaiting  UpStage = "waiting"  // the gate is open, not known ready
)

// UpError is an up that failed, and how far it got.
type UpError struct {
	Stage  UpStage
	Synced bool               // a sync ran first and succeeded
	Change Change             // what the open wrote (UpWaiting)
	Result *argocd.SyncResult // a sync that ended without success
	Err    error
}

func (e *UpError) Error() string { return e.Err.Error() }
func (e *UpError) Unwrap() error { return e.Err }

// CheckUp refuses, with no cluster, what no up of app can do at now; note
// says what its lease will be when that is worth saying.
func CheckUp(app platform.App, opts UpOptions, now time.Time) (note string, err error) {
	if note, err = CheckLease(app, opts.For, opts.Force, now); err != nil {
		return "", err
	}
	return note, checkReplicasFlag(app, opts)
}

func checkReplicasFlag(app platform.App, opts UpOptions) error {
	if opts.Replicas > 0 && app.Gate.Kind != platform.GateScale {
		return fmt.Errorf("--replicas: %s is a %s gate, it has no replicas", app.Name, app.Gate.Kind)
	}
	if opts.Replicas > 0 {
		return CheckReplicas(app, int64(opts.Replicas), fmt.Sprintf("--replicas %d", opts.Replicas), opts.Force)
	}
	return nil
}

// Up opens a gate: it syncs first when the app is not deployed or out of
// sync, opens the gate with one write, and with Wait waits until the workload
// is ready. Everything that needs no write (the live app, the gate's safety,
// every permission) is checked first, so a refused up has changed nothing;
// past that, an UpError says how far it got.
func (g *Gates) Up(ctx context.Context, app platform.App, opts UpOptions, r UpReport) (Change, error) {
	note, err := CheckUp(app, opts, g.Now())
	if err != nil {
		return Change{}, err
	}
	if note != "" {
		call(r.Note, note)
	}
	liveApp, err := g.Application(ctx, app)
	if err != nil {
		return Change{}, err
	}
	st := argocd.StatusOf(liveApp)
	needSync := st.Sync != argocd.Synced || st.Health == argocd.Missing
	perms := GatePermissions(g.Namespace, app, opts.Wait)
	if needSync {
		perms = append(SyncPermissions(g.Namespace, app), perms...)
	}
	// Every permission first, so a user who lacks several learns all of them
	// at once; then the safety reads (which need some of them).
	if err := g.Authorize(ctx, perms); err != nil {
		return Change{}, fmt.Errorf("refusing to open %s, nothing changed: %w", app.Name, err)
	}
	if err := g.CheckSafe(ctx, app, liveApp); err != nil {
		return Change{}, err
	}
	if opts.By == "" {
		if opts.By, err = g.Backend.WhoAmI(ctx); err != nil {
			call(r.Note, fmt.Sprintf("not recording who opened %s: %v", app.Name, err))
		}
	}
	if needSync {
		call(r.Syncing, st)
		result, err := g.Backend.Sync(ctx, app.Name, r.Progress)
		if err != nil {
			return Change{}, &UpError{Stage: UpSyncing, Err: err}
		}
		if !result.Succeeded() {
			return Change{}, &UpError{Stage: UpSyncing, Result: result, Err: fmt.Errorf("sync of %s %s: %s", app.Name, result.Phase, result.Message)}
		}
	}
	ch, err := g.Open(ctx, app, opts.OpenOptions)
	if needSync && app.Gate.Kind == platform.GateSync {
		ch.From, ch.Changed = "not deployed", true
	}
	if err != nil {
		return ch, &UpError{Stage: UpOpening, Synced: needSync, Err: err}
	}
	call(r.Opened, ch)
	if !opts.Wait || app.Gate.Kind == platform.GateSync { // the sync waited for its resources' health
		return ch, nil
	}
	if err := g.WaitOpen(ctx, app, r.Waiting); err != nil {
		return ch, &UpError{Stage: UpWaiting, Synced: needSync, Change: ch, Err: err}
	}
	return ch, nil
}

func call[T any](f func(T), v T) {
	if f != nil {
		f(v)
	}
}
