package watch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// sandbox is the sandbox tree's environment: its gates as git declares them.
func sandbox(t testing.TB) *platform.Env {
	t.Helper()
	env, err := platform.Load("../../clusters", "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// liveApp is a gate's Application as Argo CD holds it: the catalog's
// manifest in Argo CD's namespace, Synced and Healthy, with annotations.
func liveApp(t testing.TB, env *platform.Env, name string, ann map[string]string) *unstructured.Unstructured {
	t.Helper()
	for _, a := range env.Apps {
		if a.Name != name {
			continue
		}
		u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(a.Manifest)}
		u.SetNamespace("argocd")
		u.SetUID(types.UID("uid-" + name))
		all := u.GetAnnotations()
		for k, v := range ann {
			all[k] = v
		}
		u.SetAnnotations(all)
		_ = unstructured.SetNestedField(u.Object, "Synced", "status", "sync", "status")
		_ = unstructured.SetNestedField(u.Object, "Healthy", "status", "health", "status")
		return u
	}
	t.Fatalf("no app %s in the sandbox tree", name)
	return nil
}

func deployment(ns, name string, replicas int64) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec":     map[string]any{"replicas": replicas, "selector": map[string]any{"matchLabels": map[string]any{"app": name}}},
		"status":   map[string]any{"replicas": replicas, "readyReplicas": replicas},
	}}
}

// rig is a watcher over a fake cluster and a fake clock, with what it
// decides and writes delivered on channels.
type rig struct {
	fake    *kubetest.Fake
	clock   *clocktesting.FakeClock
	metrics *Metrics
	decided chan Decision
	writes  chan k8stesting.Action
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, now time.Time, prom costgate.Prometheus, objs ...runtime.Object) *rig {
	return startWith(t, now, prom, nil, objs...)
}

func startWith(t *testing.T, now time.Time, prom costgate.Prometheus, edit func(*Config), objs ...runtime.Object) *rig {
	t.Helper()
	r := &rig{fake: kubetest.NewClient(objs...), clock: clocktesting.NewFakeClock(now),
		decided: make(chan Decision, 100), writes: make(chan k8stesting.Action, 100), done: make(chan error, 1)}
	for _, verb := range []string{"patch", "create", "delete"} {
		record := func(a k8stesting.Action) (bool, runtime.Object, error) {
			r.writes <- a
			return false, nil, nil
		}
		r.fake.Dynamic.PrependReactor(verb, "*", record)
		r.fake.Typed.PrependReactor(verb, "events", record)
	}
	r.metrics = NewMetrics(r.clock)
	cfg := Config{
		Client: r.fake.Client, ArgoNamespace: "argocd", Host: platform.HostKubectl, Prometheus: prom,
		IdleInterval: 5 * time.Minute, Clock: r.clock, Metrics: r.metrics, Workers: 2,
		Events:  &Events{Client: r.fake.Typed, Namespace: "argocd", Instance: "watcher-0", Clock: r.clock},
		Decided: func(d Decision) { r.decided <- d },
	}
	if edit != nil {
		edit(&cfg)
	}
	w := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		testwait.Recv(t, r.done, "the watcher to stop")
	})
	return r
}

// decision waits for the next decision about app.
func (r *rig) decision(t *testing.T, app string) Decision {
	t.Helper()
	return testwait.Until(t, r.decided, "a decision about "+app, func(d Decision) bool { return d.App == app })
}

// stepTo moves the fake clock to at. An item the watcher queued for later
// is due from the time it was queued, so the order does not matter: a timer
// set before fires, one set after finds it due.
func (r *rig) stepTo(at time.Time) { r.clock.SetTime(at) }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// A lease that ends closes the gate at its end, with an Event that says why
// and what it saves, and is counted as a close by lease.
func TestLeaseEndClosesTheGate(t *testing.T) {
	env := sandbox(t)
	now := at("2026-12-07T10:00:00Z") // a Monday
	app := liveApp(t, env, "raw-vllm", map[string]string{
		costgate.OpenedAtAnnotation: "2026-12-07T09:00:00Z", costgate.OpenedByAnnotation: "alice",
		costgate.ExpiresAtAnnotation: "2026-12-07T10:00:10Z",
	})
	r := start(t, now, nil, app, deployment("serving", "raw-vllm", 1))

	d := r.decision(t, "raw-vllm")
	if !d.Open || d.Idle.Idle || !d.Next.Equal(at("2026-12-07T10:00:10Z")) {
		t.Fatalf("before the lease ends: %+v, want open, kept, next decision at the lease's end", d)
	}
	if len(r.writes) != 0 {
		t.Fatalf("wrote before the lease ended: %v", kubetest.Describe(<-r.writes))
	}
	r.stepTo(at("2026-12-07T10:00:10Z"))
	d = r.decision(t, "raw-vllm")
	if !d.Closed || d.Idle.Cause != costgate.CauseLease || d.Err != nil {
		t.Fatalf("at the lease's end: %+v, want closed by lease", d)
	}
	golden.Assert(t, "testdata/lease-end.writes", r.fake.Writes())
	if got := testutil.ToFloat64(r.metrics.closes.WithLabelValues("raw-vllm", "lease")); got != 1 {
		t.Errorf("costgate_closes_total{app=raw-vllm,reason=lease} = %v, want 1", got)
	}
	// The close reaches the informers: decided again, closed, and the metrics say so.
	testwait.Until(t, r.decided, "the watcher to see raw-vllm closed", func(d Decision) bool { return d.App == "raw-vllm" && !d.Open })
	if err := testutil.CollectAndCompare(r.metrics, strings.NewReader(`
# HELP costgate_open_cost_per_hour What the open gates cost together, in dollars per hour.
# TYPE costgate_open_cost_per_hour gauge
costgate_open_cost_per_hour 0
`), "costgate_open_cost_per_hour"); err != nil {
		t.Error(err)
	}
}

// An uptime window's edge is where the zone puts it on either side of a
// change of daylight saving time: Berlin goes from CEST (UTC+2) to CET
// (UTC+1) on Sunday 25 October 2026. batch-embedder's window is Mon-Fri
// 07:00-20:00 Europe/Berlin.
func TestWindowEdgeAcrossDaylightSavingTime(t *testing.T) {
	env := sandbox(t)
	model := func() *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "sandbox.aidev.io/v1alpha1", "kind": "Model",
			"metadata": map[string]any{"namespace": "embeddings", "name": "batch-embedder"},
			"spec":     map[string]any{"replicas": int64(1)},
			"status":   map[string]any{"replicas": int64(1), "readyReplicas": int64(1)},
		}}
	}
	t.Run("Friday, summer time", func(t *testing.T) {
		// 19:00 CEST: inside; the window closes at 20:00 CEST, 18:00 UTC.
		r := start(t, at("2026-10-23T17:00:00Z"), nil,
			liveApp(t, env, "batch-embedder", map[string]string{costgate.OpenedAtAnnotation: "2026-10-23T08:00:00Z"}), model())
		d := r.decision(t, "batch-embedder")
		if !d.Open || d.Idle.Idle || !d.Next.Equal(at("2026-10-23T18:00:00Z")) {
			t.Fatalf("%+v, want kept until 20:00 CEST (18:00 UTC)", d)
		}
		r.stepTo(d.Next)
		if d = r.decision(t, "batch-embedder"); !d.Closed || d.Idle.Cause != costgate.CauseWindow {
			t.Fatalf("20:00 CEST: %+v, want closed by its window", d)
		}
	})
	t.Run("Monday, winter time", func(t *testing.T) {
		// 05:30 UTC is 06:30 CET: outside (with the summer's offset it
		// would be 07:30, inside). Closed at once.
		r := start(t, at("2026-10-26T05:30:00Z"), nil,
			liveApp(t, env, "batch-embedder", map[string]string{costgate.OpenedAtAnnotation: "2026-10-25T20:00:00Z"}), model())
		if d := r.decision(t, "batch-embedder"); !d.Closed || d.Idle.Cause != costgate.CauseWindow {
			t.Fatalf("06:30 CET: %+v, want closed by its window", d)
		}
	})
	t.Run("a lease over the weekend", func(t *testing.T) {
		// Leased on Saturday until Monday 07:30 CET: kept over the weekend,
		// decided again when the window opens (07:00 CET, 06:00 UTC), and
		// closed by its lease at 06:30 UTC.
		r := start(t, at("2026-10-24T12:00:00Z"), nil, liveApp(t, env, "batch-embedder", map[string]string{
			costgate.OpenedAtAnnotation: "2026-10-24T10:00:00Z", costgate.ExpiresAtAnnotation: "2026-10-26T06:30:00Z"}), model())
		d := r.decision(t, "batch-embedder")
		if d.Idle.Idle || !d.Next.Equal(at("2026-10-26T06:00:00Z")) {
			t.Fatalf("Saturday: %+v, want kept, next when the window opens on Monday 07:00 CET (06:00 UTC)", d)
		}
		r.stepTo(d.Next)
		if d = r.decision(t, "batch-embedder"); d.Idle.Idle || !d.Next.Equal(at("2026-10-26T06:30:00Z")) {
			t.Fatalf("Monday 07:00 CET: %+v, want kept, next at the lease's end", d)
		}
		r.stepTo(d.Next)
		if d = r.decision(t, "batch-embedder"); !d.Closed || d.Idle.Cause != costgate.CauseLease {
			t.Fatalf("the lease's end: %+v, want closed by its lease", d)
		}
	})
}

// --dry-run decides as it would and writes nothing: no close, no Event.
func TestDryRunWritesNothing(t *testing.T) {
	env := sandbox(t)
	app := liveApp(t, env, "raw-vllm", map[string]string{
		costgate.OpenedAtAnnotation: "2026-12-07T09:00:00Z", costgate.ExpiresAtAnnotation: "2026-12-07T09:30:00Z"})
	r := startWith(t, at("2026-12-07T10:00:00Z"), nil, func(c *Config) { c.DryRun = true }, app, deployment("serving", "raw-vllm", 1))
	if d := r.decision(t, "raw-vllm"); !d.Idle.Idle || d.Idle.Cause != costgate.CauseLease || d.Closed {
		t.Fatalf("%+v, want decided to close by lease, not closed", d)
	}
	if w := r.fake.Writes(); w != "" {
		t.Errorf("a dry run wrote:\n%s", w)
	}
}

// A sync gate has no target: its Application changing is decided again,
// and an Application that stops being a gate is forgotten, metrics and all.
func TestSyncGateChangesAndGatesThatStopBeingOnes(t *testing.T) {
	env := sandbox(t)
	n8n := liveApp(t, env, "n8n", nil)
	r := start(t, at("2026-12-07T10:00:00Z"), nil, n8n)
	if d := r.decision(t, "n8n"); !d.Open || d.Idle.Reason != costgate.SyncGateNotIdle {
		t.Fatalf("%+v, want open and kept (no idle-query)", d)
	}
	n8n = r.fake.Get(kube.Applications, "argocd", "n8n").DeepCopy()
	ann := n8n.GetAnnotations()
	ann[costgate.ExpiresAtAnnotation] = "2026-12-07T09:00:00Z"
	n8n.SetAnnotations(ann)
	n8n.SetResourceVersion("")
	if err := r.fake.Store(kube.Applications, n8n); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, r.decided, "n8n to be decided again, closed by its lease", func(d Decision) bool {
		return d.App == "n8n" && d.Idle.Cause == costgate.CauseLease
	})
	plain := r.fake.Get(kube.Applications, "argocd", "n8n").DeepCopy()
	plain.SetAnnotations(nil)
	plain.SetResourceVersion("")
	if err := r.fake.Store(kube.Applications, plain); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, tickEvery(r), "n8n's metrics to go", func(bool) bool {
		n, _ := testutil.GatherAndCount(r.metrics.Registry, "costgate_gate_open")
		return n == 0
	})
}

// tickEvery reports on a channel until the test ends, for testwait.Until to
// check a condition that no event announces (what a scrape would see).
func tickEvery(r *rig) <-chan bool {
	c := make(chan bool)
	go func() {
		defer close(c)
		for range 3000 {
			select {
			case c <- true:
			case <-r.done:
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return c
}

// countingPrometheus answers "no requests" and counts the queries.
type countingPrometheus struct{ queries atomic.Int32 }

func (p *countingPrometheus) Query(context.Context, string) (float64, bool, error) {
	p.queries.Add(1)
	return 0, true, nil
}

// An idle gate is closed on one traffic query: the fresh re-read before the
// close decides again on the same answer.
func TestIdleCloseAsksPrometheusOnce(t *testing.T) {
	env := sandbox(t)
	prom := &countingPrometheus{}
	r := start(t, at("2026-12-07T10:00:00Z"), prom,
		liveApp(t, env, "raw-vllm", map[string]string{costgate.OpenedAtAnnotation: "2026-12-07T08:00:00Z"}), deployment("serving", "raw-vllm", 1))
	// Decisions about one gate never overlap: once one sees it closed, every
	// query was made by an open decision, each asking once.
	asked, closed := 0, false
	testwait.Until(t, r.decided, "raw-vllm to be seen closed", func(d Decision) bool {
		if d.App != "raw-vllm" {
			return false
		}
		if d.Idle.Query != "" {
			asked++
		}
		closed = closed || d.Closed
		return !d.Open
	})
	if !closed {
		t.Fatal("raw-vllm was not closed as idle")
	}
	if n := int(prom.queries.Load()); n != asked {
		t.Errorf("%d Prometheus queries for %d decisions that asked, want one each (the close's re-read reuses it)", n, asked)
	}
}

type downPrometheus struct{}

func (downPrometheus) Query(context.Context, string) (float64, bool, error) {
	return 0, false, errors.New("Prometheus at http://prometheus:9090: connection refused")
}

// Prometheus down: nothing is closed on traffic, the failure is counted,
// and the gate is asked again at the next interval.
func TestPrometheusDownClosesNothingAndCountsTheError(t *testing.T) {
	env := sandbox(t)
	now := at("2026-12-07T10:00:00Z")
	app := liveApp(t, env, "raw-vllm", map[string]string{costgate.OpenedAtAnnotation: "2026-12-07T08:00:00Z"}) // idle-after 30m
	r := start(t, now, downPrometheus{}, app, deployment("serving", "raw-vllm", 1))

	d := r.decision(t, "raw-vllm")
	if !d.Open || d.Idle.Idle || d.Idle.Error == "" || !d.Next.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("%+v, want kept with the query's error, asked again in 5m", d)
	}
	r.stepTo(d.Next)
	r.decision(t, "raw-vllm")
	if got := testutil.ToFloat64(r.metrics.errors.WithLabelValues("raw-vllm")); got != 2 {
		t.Errorf("costgate_decision_errors_total{app=raw-vllm} = %v, want 2", got)
	}
	if w := r.fake.Writes(); w != "" {
		t.Errorf("wrote with Prometheus down:\n%s", w)
	}
}

// The gate metrics are as of the scrape: how long it has been open and how
// long its lease has left move with the clock between decisions.
func TestMetricsAreAsOfTheScrape(t *testing.T) {
	env := sandbox(t)
	now := at("2026-12-07T10:00:00Z")
	r := start(t, now, nil,
		liveApp(t, env, "raw-vllm", map[string]string{costgate.OpenedAtAnnotation: "2026-12-07T09:00:00Z", costgate.ExpiresAtAnnotation: "2026-12-07T12:00:00Z"}),
		deployment("serving", "raw-vllm", 1),
		liveApp(t, env, "vector-store", nil))
	seen := map[string]bool{}
	for len(seen) < 2 {
		seen[testwait.Recv(t, r.decided, "the first decisions").App] = true
	}
	r.clock.SetTime(now.Add(30 * time.Minute)) // no decision in between: the values move anyway
	got, err := testutil.CollectAndFormat(r.metrics, expfmt.TypeTextPlain, "costgate_gate_open", "costgate_gate_cost_per_hour",
		"costgate_gate_open_seconds", "costgate_gate_max_open_seconds", "costgate_gate_lease_remaining_seconds", "costgate_open_cost_per_hour")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/metrics.txt", got)
}

// Two replicas: one leads and decides; when it stops (SIGTERM) it releases
// the lease and the other takes over at once, not after the lease runs out.
func TestLeaderHandOver(t *testing.T) {
	f := kubetest.NewClient()
	type replica struct {
		metrics *Metrics
		leading chan string
		cancel  context.CancelFunc
		done    chan error
	}
	var mu sync.Mutex
	var order []string
	run := func(id string) *replica {
		r := &replica{metrics: NewMetrics(clocktesting.NewFakeClock(time.Now())), leading: make(chan string, 1), done: make(chan error, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		e := Election{Client: f.Typed, Namespace: "costgate", Name: Component, Identity: id,
			LeaseDuration: time.Minute, RenewDeadline: 40 * time.Second, RetryPeriod: 20 * time.Millisecond}
		go func() {
			r.done <- e.Run(ctx, r.metrics, func(lctx context.Context) error {
				mu.Lock()
				order = append(order, id)
				mu.Unlock()
				r.leading <- id
				<-lctx.Done()
				return nil
			})
		}()
		return r
	}
	a := run("a")
	testwait.Recv(t, a.leading, "a to lead")
	b := run("b")
	if got := testutil.ToFloat64(a.metrics.leader); got != 1 {
		t.Errorf("a's costgate_watcher_leader = %v, want 1", got)
	}
	a.cancel() // SIGTERM: a releases the lease
	if err := testwait.Recv(t, a.done, "a to stop"); err != nil {
		t.Errorf("a stopped with %v, want nil (released on shutdown)", err)
	}
	// The lease lasts a minute: b leads well before only because a released it.
	testwait.Recv(t, b.leading, "b to take over")
	b.cancel()
	testwait.Recv(t, b.done, "b to stop")
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "a,b" {
		t.Errorf("led in order %v, want a then b, never both", order)
	}
	if got := testutil.ToFloat64(a.metrics.leader); got != 0 {
		t.Errorf("a's costgate_watcher_leader after stopping = %v, want 0", got)
	}
}
