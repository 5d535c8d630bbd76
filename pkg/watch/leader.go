package watch

import (
	"context"
	"errors"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Election is how replicas agree on the one that decides: a
// coordination.k8s.io Lease, client-go's leader election.
type Election struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string // the Lease's
	Identity  string // this replica's
	// LeaseDuration, RenewDeadline and RetryPeriod are client-go's (zero:
	// 15s, 10s and 2s, controller-runtime's defaults).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Log                                       *slog.Logger
}

// ErrLostLease ends a leader that could not renew its lease: another replica
// may act now, so this one must stop (and be restarted) rather than act too.
var ErrLostLease = errors.New("lost the leader lease")

// Run runs lead while this replica holds the lease, with a context that ends
// when it stops holding it. It returns nil when ctx ends (the lease is then
// released, so another replica takes over at once), ErrLostLease when the
// lease was lost, or lead's error.
func (e Election) Run(ctx context.Context, metrics *Metrics, lead func(ctx context.Context) error) error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&e.LeaseDuration, 15*time.Second)
	def(&e.RenewDeadline, 10*time.Second)
	def(&e.RetryPeriod, 2*time.Second)
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
		Client:     e.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
	}
	outer := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan context.Context, 1)
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, Name: Component,
		LeaseDuration: e.LeaseDuration, RenewDeadline: e.RenewDeadline, RetryPeriod: e.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			// Only hands the leader's context over: lead runs below, so Run
			// returns only once it has (client-go would not wait for it).
			OnStartedLeading: func(lctx context.Context) { started <- lctx },
			OnStoppedLeading: func() { metrics.Leading(false) },
			OnNewLeader: func(identity string) {
				if identity != e.Identity {
					e.Log.Info("standing by", "leader", identity, "lease", e.Namespace+"/"+e.Name)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	elected := make(chan struct{})
	go func() {
		defer close(elected)
		elector.Run(ctx) // returns when ctx ends or the lease is lost, releasing it
	}()
	select {
	case <-elected: // ctx ended before this replica led
		return nil
	case lctx := <-started:
		metrics.Leading(true)
		e.Log.Info("leading", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
		leadErr := lead(lctx) // until the lease is lost or ctx ends
		cancel()              // lead ended on its own: give the lease up
		<-elected
		switch {
		case leadErr != nil:
			return leadErr
		case outer.Err() == nil:
			return ErrLostLease
		}
		return nil
	}
}
