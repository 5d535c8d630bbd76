package watch

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/utils/clock"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
)

// Metrics is what the watcher exports on /metrics. The per-gate values are
// computed at scrape time from the last observation of each gate, so how long
// a gate has been open and how long its lease has left are true at the scrape,
// not at the last decision.
type Metrics struct {
	Registry *prometheus.Registry

	clock  clock.PassiveClock
	mu     sync.Mutex
	gates  map[string]gateSnapshot // by app; only the leader observes
	closes *prometheus.CounterVec
	errors *prometheus.CounterVec
	leader prometheus.Gauge
	last   prometheus.Gauge
}

// gateSnapshot is one gate as last observed.
type gateSnapshot struct {
	gate, target string
	cost         float64
	open         bool
	upSince      *time.Time
	expiresAt    *time.Time
	maxOpen      time.Duration
}

var (
	descOpen           = prometheus.NewDesc("costgate_gate_open", "Whether the gate is open (1) or closed (0).", []string{"app", "gate", "target"}, nil)
	descCost           = prometheus.NewDesc("costgate_gate_cost_per_hour", "The gate's declared cost in dollars per hour while open (costgate.aidev.io/cost-per-hour).", []string{"app"}, nil)
	descOpenSeconds    = prometheus.NewDesc("costgate_gate_open_seconds", "Seconds since the gate opened; 0 when closed.", []string{"app"}, nil)
	descMaxOpen        = prometheus.NewDesc("costgate_gate_max_open_seconds", "The gate's longest lease (costgate.aidev.io/max-open), for gates that declare one.", []string{"app"}, nil)
	descLeaseRemaining = prometheus.NewDesc("costgate_gate_lease_remaining_seconds", "Seconds until the open gate's lease ends; negative when overdue.", []string{"app"}, nil)
	descOpenCost       = prometheus.NewDesc("costgate_open_cost_per_hour", "What the open gates cost together, in dollars per hour.", nil, nil)
)

// NewMetrics registers the watcher's metrics, and Go's and the process's, on
// a registry of its own.
func NewMetrics(clk clock.PassiveClock) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		clock:    clk,
		gates:    map[string]gateSnapshot{},
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "costgate_closes_total", Help: "Gates the watcher closed, by why: lease, window or idle.",
		}, []string{"app", "reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "costgate_decision_errors_total", Help: "Decisions that could not be made or carried out (a failed traffic query, a failed close).",
		}, []string{"app"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "costgate_watcher_leader", Help: "1 on the replica that holds the leader lease and decides.",
		}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "costgate_watcher_last_decision_timestamp_seconds", Help: "When the watcher last decided about a gate (Unix time).",
		}),
	}
	m.Registry.MustRegister(m, m.closes, m.errors, m.leader, m.last,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Describe implements prometheus.Collector for the per-gate metrics.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descCost, descOpenSeconds, descMaxOpen, descLeaseRemaining, descOpenCost} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the per-gate values as of now.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	apps := make([]string, 0, len(m.gates))
	for app := range m.gates {
		apps = append(apps, app)
	}
	sort.Strings(apps)
	total := 0.0
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, app := range apps {
		g := m.gates[app]
		open, openFor := 0.0, 0.0
		if g.open {
			open, total = 1, total+g.cost
			if g.upSince != nil {
				openFor = now.Sub(*g.upSince).Seconds()
			}
		}
		gauge(descOpen, open, app, g.gate, g.target)
		gauge(descCost, g.cost, app)
		gauge(descOpenSeconds, openFor, app)
		if g.maxOpen > 0 {
			gauge(descMaxOpen, g.maxOpen.Seconds(), app)
		}
		if g.open && g.expiresAt != nil {
			gauge(descLeaseRemaining, g.expiresAt.Sub(now).Seconds(), app)
		}
	}
	gauge(descOpenCost, total)
}

// observed records a gate's status as a decision saw it.
func (m *Metrics) observed(maxOpen time.Duration, st costgate.Status) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gates[st.App] = gateSnapshot{gate: st.Gate, target: st.Target, cost: st.CostPerHour, open: st.Open(),
		upSince: st.UpSince, expiresAt: st.ExpiresAt, maxOpen: maxOpen}
	m.last.Set(float64(m.clock.Now().UnixNano()) / 1e9)
}

// forget drops a gate that is no longer one (its Application deleted, or no
// longer annotated as a gate).
func (m *Metrics) forget(app string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.gates, app)
}

// forgetAll drops every gate: a replica that stops leading reports none.
func (m *Metrics) forgetAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gates = map[string]gateSnapshot{}
}

func (m *Metrics) closed(app, cause string) { m.closes.WithLabelValues(app, cause).Inc() }
func (m *Metrics) failed(app string)        { m.errors.WithLabelValues(app).Inc() }

// Leading says whether this replica holds the leader lease.
func (m *Metrics) Leading(yes bool) {
	if yes {
		m.leader.Set(1)
		return
	}
	m.leader.Set(0)
	m.forgetAll()
}
