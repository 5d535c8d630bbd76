// Package watch keeps the gates closed when they should be, from inside the
// cluster: costgate idle's decisions (a lease ran out, outside the uptime
// window, idle per Prometheus), through the same code, made when something
// about a gate changes and when its next deadline comes, never by polling
// every gate.
//
// It learns the gates from the Applications themselves (their
// costgate.aidev.io/* annotations, as Argo CD deployed them from git), so it
// needs no copy of the repository: one informer over the Applications in
// Argo CD's namespace, and one per gate target, by name (what RBAC
// resourceNames can grant).
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Config is what a watcher runs with: a plain value, built from the verb's flags.
type Config struct {
	Client        *kube.Client
	ArgoNamespace string
	Host          platform.Host       // names commands in messages
	Prometheus    costgate.Prometheus // nil: only leases and uptime windows close gates
	Rule          costgate.IdleRule
	// IdleInterval is how often an open gate's traffic is asked again.
	IdleInterval time.Duration
	// DryRun decides and reports, and writes nothing (no close, no Event).
	DryRun  bool
	Clock   clock.WithTicker
	Metrics *Metrics
	Events  *Events // nil: no Events
	Log     *slog.Logger
	// Workers decide about different gates at once (one gate is never
	// decided twice at once).
	Workers int
	// Decided, when set, is told every decision as it is made (tests wait on it).
	Decided func(Decision)
}

// Decision is one decision about one gate.
type Decision struct {
	App  string
	Open bool                  // the gate was open when decided
	Idle costgate.IdleDecision // idle's decision, for an open gate
	// Closed says the watcher closed it (false in a dry run, or when a fresh
	// read found it no longer to be closed).
	Closed bool
	Next   time.Time // when it is decided again; zero: at its next change
	Err    error
}

// Watcher decides about each gate when it changes and when its next
// deadline comes.
type Watcher struct {
	cfg     Config
	backend *costgate.KubeBackend
	gates   *costgate.Gates
	queue   workqueue.TypedRateLimitingInterface[string]
	apps    cache.SharedIndexInformer
	ready   atomic.Bool

	mu      sync.Mutex
	tracked map[string]*tracked // by app name
}

// tracked is one gate the watcher follows.
type tracked struct {
	app      platform.App
	workload costgate.Workload         // resolved; zero for a sync gate
	target   cache.SharedIndexInformer // its target, by name; nil for a sync gate or one not resolved yet
	stop     context.CancelFunc
	// resolveErr is why the target's kind could not be resolved (its CRD
	// not installed yet): decided as absent, retried at the next change.
	resolveErr error
}

// New builds a watcher; Run starts it.
func New(cfg Config) *Watcher {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(cfg.Clock)
	}
	backend := &costgate.KubeBackend{Client: cfg.Client, Namespace: cfg.ArgoNamespace}
	return &Watcher{
		cfg:     cfg,
		backend: backend,
		gates:   &costgate.Gates{Backend: backend, Host: cfg.Host, Namespace: cfg.ArgoNamespace, Now: cfg.Clock.Now},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Second, 5*time.Minute),
			workqueue.TypedRateLimitingQueueConfig[string]{Clock: cfg.Clock}),
		tracked: map[string]*tracked{},
	}
}

// Ready says whether the watcher has listed the Applications and decides.
func (w *Watcher) Ready() bool { return w.ready.Load() }

// Run watches until ctx ends. It returns an error only when the
// Applications cannot be listed at all (no such resource, no permission).
func (w *Watcher) Run(ctx context.Context) error {
	defer w.queue.ShutDown()
	defer w.stopAll()
	w.apps = dynamicinformer.NewFilteredDynamicInformer(w.cfg.Client.Dynamic, kube.Applications.GVR, w.cfg.ArgoNamespace, 0, cache.Indexers{}, nil).Informer()
	listErr := make(chan error, 1)
	_ = w.apps.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.cfg.Log.Warn("watching Applications", "namespace", w.cfg.ArgoNamespace, "error", err.Error())
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			select {
			case listErr <- err:
			default:
			}
		}
	})
	if _, err := w.apps.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.track(ctx, obj) },
		UpdateFunc: func(_, obj any) { w.track(ctx, obj) },
		DeleteFunc: func(obj any) { w.untrack(obj) },
	}); err != nil {
		return err
	}
	go w.apps.RunWithContext(ctx)
	synced := make(chan bool, 1)
	go func() { synced <- cache.WaitForCacheSync(ctx.Done(), w.apps.HasSynced) }()
	select {
	case err := <-listErr:
		return fmt.Errorf("listing Applications in %s: %w", w.cfg.ArgoNamespace, w.cfg.Client.Explain(err, kube.Applications))
	case ok := <-synced:
		if !ok {
			return nil // ended before the first list
		}
	}
	w.ready.Store(true)
	w.cfg.Log.Info("watching gates", "namespace", w.cfg.ArgoNamespace, "gates", w.count(), "dryRun", w.cfg.DryRun, "prometheus", w.cfg.Prometheus != nil)
	var wg sync.WaitGroup
	for range w.cfg.Workers {
		wg.Go(func() {
			for w.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	w.queue.ShutDown()
	wg.Wait()
	return nil
}

func (w *Watcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.tracked)
}

// track follows an Application that is a gate (and stops following one that
// no longer is), then asks for a decision about it.
func (w *Watcher) track(ctx context.Context, obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	app, err := platform.AppFromLive(u.Object)
	if err != nil {
		w.cfg.Log.Warn("not a valid gate", "app", u.GetName(), "error", err.Error())
		w.cfg.Metrics.failed(u.GetName())
		w.forget(u.GetName())
		return
	}
	if app.Gate == nil {
		w.forget(app.Name)
		return
	}
	w.mu.Lock()
	t := w.tracked[app.Name]
	if t == nil || !sameTarget(t.app, app) || t.resolveErr != nil {
		if t != nil && t.stop != nil {
			t.stop()
		}
		t = w.follow(ctx, app)
		w.tracked[app.Name] = t
	}
	t.app = app
	w.mu.Unlock()
	w.queue.Add(app.Name)
}

// sameTarget says whether two readings of a gate act on the same object
// (none, for sync gates).
func sameTarget(a, b platform.App) bool {
	ta, tb := a.Gate.Target, b.Gate.Target
	return (ta == nil && tb == nil) || (ta != nil && tb != nil && *ta == *tb)
}

// follow starts the informer on a gate's target, by name. Called with w.mu held.
func (w *Watcher) follow(ctx context.Context, app platform.App) *tracked {
	t := &tracked{app: app}
	wl := costgate.WorkloadOf(app)
	if wl.Name == "" {
		return t // a sync gate: its Application says it all
	}
	resolved, err := w.backend.ResolveWorkload(wl)
	if err != nil {
		t.resolveErr = err
		w.cfg.Log.Warn("target not served", "app", app.Name, "target", wl.String(), "error", err.Error())
		return t
	}
	t.workload = resolved
	byName := fields.OneTermEqualSelector("metadata.name", resolved.Name).String()
	t.target = dynamicinformer.NewFilteredDynamicInformer(w.cfg.Client.Dynamic, resolved.Kind.GVR, resolved.Namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.FieldSelector = byName }).Informer()
	name := app.Name
	enqueue := func(obj any) {
		if m, ok := obj.(metav1.Object); ok && m.GetName() != resolved.Name {
			return
		}
		w.queue.Add(name)
	}
	_, _ = t.target.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: func(any) { w.queue.Add(name) },
	})
	tctx, stop := context.WithCancel(ctx)
	t.stop = stop
	go t.target.RunWithContext(tctx)
	return t
}

func (w *Watcher) untrack(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		w.forget(m.GetName())
	}
}

func (w *Watcher) forget(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t := w.tracked[name]; t != nil {
		if t.stop != nil {
			t.stop()
		}
		delete(w.tracked, name)
		w.cfg.Metrics.forget(name)
	}
}

func (w *Watcher) stopAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.tracked {
		if t.stop != nil {
			t.stop()
		}
	}
}

// next processes one gate from the queue; false once the queue shuts down.
func (w *Watcher) next(ctx context.Context) bool {
	name, quit := w.queue.Get()
	if quit {
		return false
	}
	defer w.queue.Done(name)
	d := w.decide(ctx, name)
	switch {
	case d.Err != nil && ctx.Err() == nil:
		w.cfg.Metrics.failed(name)
		w.cfg.Log.Error("deciding", "app", name, "error", d.Err.Error())
		w.queue.AddRateLimited(name)
	case !d.Next.IsZero():
		w.queue.Forget(name)
		w.queue.AddAfter(name, d.Next.Sub(w.cfg.Clock.Now()))
	default:
		w.queue.Forget(name)
	}
	if w.cfg.Decided != nil {
		w.cfg.Decided(d)
	}
	return true
}

// snapshot is what the informers hold about a gate now.
func (w *Watcher) snapshot(name string) (*tracked, costgate.Live, bool) {
	w.mu.Lock()
	t := w.tracked[name]
	w.mu.Unlock()
	if t == nil {
		return nil, costgate.Live{}, false
	}
	live := costgate.NewLive()
	if obj, ok, _ := w.apps.GetStore().GetByKey(w.cfg.ArgoNamespace + "/" + name); ok {
		live.Apps[name] = obj.(*unstructured.Unstructured)
	}
	if t.target != nil {
		if obj, ok, _ := t.target.GetStore().GetByKey(t.workload.Namespace + "/" + t.workload.Name); ok {
			live.SetWorkload(t.workload, obj.(*unstructured.Unstructured))
		}
	}
	return t, live, true
}

// decide makes idle's decision about one gate from what the informers hold,
// closes it when it should be, and says when to decide again.
func (w *Watcher) decide(ctx context.Context, name string) Decision {
	out := Decision{App: name}
	t, live, ok := w.snapshot(name)
	if !ok {
		return out
	}
	now := w.cfg.Clock.Now()
	st := costgate.Observe(w.cfg.Host, []platform.App{t.app}, live, now)[0]
	w.cfg.Metrics.observed(t.app.Gate.MaxOpen, st)
	if out.Open = st.Open(); !out.Open {
		return out
	}
	var prom costgate.Prometheus // one query per decision: the re-read before a close reuses its answer
	if w.cfg.Prometheus != nil {
		prom = &answered{Prometheus: w.cfg.Prometheus, answers: map[string]answer{}}
	}
	out.Idle = costgate.DecideIdle(ctx, prom, []platform.App{t.app}, []costgate.Status{st}, w.cfg.Rule, now)[0]
	if out.Idle.Idle {
		if out.Closed, out.Err = w.close(ctx, t, out.Idle, prom); out.Err != nil {
			return out
		}
	} else if out.Idle.Error != "" {
		// Prometheus cannot answer: nothing closes on traffic, leases and
		// windows still do (their deadlines stand); counted, and asked again.
		w.cfg.Metrics.failed(name)
		w.cfg.Log.Warn("kept", "app", name, "reason", out.Idle.Reason, "error", out.Idle.Error)
	}
	interval := w.cfg.IdleInterval
	if w.cfg.Prometheus == nil {
		interval = 0
	}
	out.Next = costgate.NextDecision(t.app, st, w.cfg.Rule, now, interval)
	return out
}

// close reads the gate again (the informers may lag an up that just extended
// its lease), decides again on that, and closes it when the decision stands.
func (w *Watcher) close(ctx context.Context, t *tracked, d costgate.IdleDecision, prom costgate.Prometheus) (bool, error) {
	app := t.app
	fresh := costgate.NewLive()
	liveApp, err := w.backend.Application(ctx, app.Name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fresh.Apps[app.Name] = liveApp
	if t.target != nil {
		o, err := w.backend.Workload(ctx, t.workload)
		if err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		if err == nil {
			fresh.SetWorkload(t.workload, o)
		}
	}
	now := w.cfg.Clock.Now()
	st := costgate.Observe(w.cfg.Host, []platform.App{app}, fresh, now)[0]
	if !st.Open() {
		return false, nil
	}
	if d = costgate.DecideIdle(ctx, prom, []platform.App{app}, []costgate.Status{st}, w.cfg.Rule, now)[0]; !d.Idle {
		return false, nil
	}
	saving := fmt.Sprintf("saving $%.2f per hour", app.Gate.CostPerHour)
	if w.cfg.DryRun {
		w.cfg.Log.Info("would close", "app", app.Name, "target", d.Target, "cause", d.Cause, "reason", d.Reason, "costPerHour", app.Gate.CostPerHour)
		return false, nil
	}
	if _, err := w.gates.Close(ctx, app); err != nil {
		w.event(ctx, liveApp, "Warning", ReasonCloseFailed, fmt.Sprintf("could not close (%s): %v", d.Reason, err))
		return false, fmt.Errorf("closing %s (%s): %w", app.Name, d.Reason, err)
	}
	w.cfg.Metrics.closed(app.Name, d.Cause)
	w.cfg.Log.Info("closed", "app", app.Name, "target", d.Target, "cause", d.Cause, "reason", d.Reason, "costPerHour", app.Gate.CostPerHour)
	w.event(ctx, liveApp, "Normal", ReasonClosed, fmt.Sprintf("closed: %s, %s", d.Reason, saving))
	return true, nil
}

// answered asks Prometheus each query once: a decision and the fresh
// re-decision before its close ask the same traffic question milliseconds
// apart, and only the gate's state (lease, window, open) may have changed.
type answered struct {
	costgate.Prometheus
	answers map[string]answer
}

type answer struct {
	value   float64
	hasData bool
	err     error
}

// Query implements costgate.Prometheus.
func (a *answered) Query(ctx context.Context, promql string) (float64, bool, error) {
	if got, ok := a.answers[promql]; ok {
		return got.value, got.hasData, got.err
	}
	v, has, err := a.Prometheus.Query(ctx, promql)
	a.answers[promql] = answer{v, has, err}
	return v, has, err
}

// event writes an Event; failing to is logged, never a failed close.
func (w *Watcher) event(ctx context.Context, app *unstructured.Unstructured, eventType, reason, message string) {
	if w.cfg.Events == nil {
		return
	}
	if err := w.cfg.Events.Record(ctx, app, eventType, reason, message); err != nil && !errors.Is(err, context.Canceled) {
		w.cfg.Log.Warn("writing the Event", "app", app.GetName(), "reason", reason, "error", err.Error())
	}
}
