package costgate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Prometheus answers instant PromQL queries.
type Prometheus interface {
	// Query returns the sum of the result vector, and whether it had any series.
	Query(ctx context.Context, promql string) (value float64, hasData bool, err error)
}

// DirectPrometheus queries a Prometheus URL (--prometheus-url).
type DirectPrometheus struct {
	URL    string
	Client *http.Client
}

// Query implements Prometheus.
func (p *DirectPrometheus) Query(ctx context.Context, promql string) (float64, bool, error) {
	u := strings.TrimSuffix(p.URL, "/") + "/api/v1/query?" + url.Values{"query": {promql}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false, err
	}
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("Prometheus at %s: %w", p.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return 0, false, err
	}
	return parseVector(body, resp.StatusCode, p.URL)
}

// ServicePrometheus queries an in-cluster Prometheus Service through the API
// server's service proxy, so no port-forward or ingress is needed.
type ServicePrometheus struct {
	REST      rest.Interface // a client for the core/v1 API
	Namespace string
	Service   string
	Port      string
}

// Query implements Prometheus.
func (p *ServicePrometheus) Query(ctx context.Context, promql string) (float64, bool, error) {
	where := fmt.Sprintf("service %s/%s:%s", p.Namespace, p.Service, p.Port)
	res := p.REST.Get().Namespace(p.Namespace).Resource("services").
		Name(p.Service+":"+p.Port).SubResource("proxy").Suffix("api/v1/query").
		Param("query", promql).Do(ctx)
	var code int
	res.StatusCode(&code)
	body, err := res.Raw()
	if err != nil && len(body) == 0 {
		return 0, false, fmt.Errorf("Prometheus %s through the API server: %w", where, err)
	}
	return parseVector(body, code, where)
}

func parseVector(body []byte, code int, where string) (float64, bool, error) {
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, false, fmt.Errorf("Prometheus %s answered %d, not a query result: %.200s", where, code, bytes.TrimSpace(body))
	}
	if r.Status != "success" {
		return 0, false, fmt.Errorf("Prometheus %s: %s", where, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return 0, false, fmt.Errorf("Prometheus %s: want an instant vector, got %s", where, r.Data.ResultType)
	}
	sum := 0.0
	for _, s := range r.Data.Result {
		str, _ := s.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return 0, false, fmt.Errorf("Prometheus %s: value %q: %w", where, str, err)
		}
		sum += v
	}
	return sum, len(r.Data.Result) > 0, nil
}

// Default traffic queries: requests served in the window by the gate's pods.
// A gate's costgate.aidev.io/idle-query overrides them; $namespace, $name and
// $window are filled in.
const (
	DefaultScaleQuery = `sum(increase(vllm:request_success_total{namespace="$namespace",pod=~"$name-.*"}[$window]))`
	DefaultPauseQuery = `sum(increase(request_predict_seconds_count{namespace="$namespace",pod=~"$name-predictor-.*"}[$window]))`
)

// IdleQuery is the PromQL for a gate's traffic over window. A sync gate has
// only its own idle-query, where $namespace is its destination namespace and
// $name the app's.
func IdleQuery(app platform.App, window time.Duration) string {
	q := app.Gate.IdleQuery
	if q == "" {
		q = DefaultScaleQuery
		if app.Gate.Kind == platform.GatePause {
			q = DefaultPauseQuery
		}
	}
	namespace, name := app.DestinationNamespace(), app.Name
	if t := app.Gate.Target; t != nil {
		namespace, name = t.Namespace, t.Name
	}
	return strings.NewReplacer(
		"$namespace", namespace,
		"$name", name,
		"$window", fmt.Sprintf("%ds", int64(window.Seconds())),
	).Replace(q)
}

// Why idle closes a gate.
const (
	CauseLease  = "lease"  // its lease ran out
	CauseWindow = "window" // outside its uptime window
	CauseIdle   = "idle"   // no requests in its idle window
)

// IdleRule says how idle is decided for a run.
type IdleRule struct {
	Override     time.Duration // replaces every gate's idle-after when set
	Default      time.Duration // for gates without idle-after; 0 leaves them alone
	NoDataIsIdle bool          // a query with no series counts as no traffic
}

// IdleDecision is what idle decided for one open gate, and why.
type IdleDecision struct {
	App      string  `json:"app"`
	Target   string  `json:"target"`
	Window   string  `json:"window,omitempty"`
	Query    string  `json:"query,omitempty"`
	Requests float64 `json:"requests"`
	Idle     bool    `json:"idle"`
	// Cause says why an idle gate closes: lease, window or idle.
	Cause  string `json:"cause,omitempty"`
	Reason string `json:"reason"`
	Error  string `json:"error,omitempty"`
}

// DecideIdle looks at every open gate and decides whether to close it, in
// this order: its lease ran out; it is outside its uptime window and no lease
// holds it open; it has served no requests for its idle window (Prometheus).
// The first two need no Prometheus (prom may be nil): they are decided even
// when it cannot be reached or has no data. A sync gate has a traffic
// decision only with its own idle-query. It writes nothing.
func DecideIdle(ctx context.Context, prom Prometheus, gates []platform.App, statuses []Status, rule IdleRule, now time.Time) []IdleDecision {
	var out []IdleDecision
	for i, app := range gates {
		st := statuses[i]
		if !st.Open() {
			continue
		}
		d := IdleDecision{App: app.Name, Target: gateTarget(app)}
		leased := st.ExpiresAt != nil && now.Before(*st.ExpiresAt)
		switch {
		case st.ExpiresAt != nil && !leased:
			d.Idle, d.Cause, d.Reason = true, CauseLease, "lease ran out at "+st.ExpiresAt.UTC().Format(time.RFC3339)+openedBy(st)
		case app.Gate.Uptime != nil && !app.Gate.Uptime.Contains(now) && !leased:
			d.Idle, d.Cause, d.Reason = true, CauseWindow, fmt.Sprintf("outside its uptime window %q", app.Gate.Uptime.String())
		default:
			decideTraffic(ctx, prom, app, st, rule, now, &d)
			if !d.Idle && leased {
				d.Reason += fmt.Sprintf("; leased until %s", st.ExpiresAt.UTC().Format(time.RFC3339))
			}
		}
		out = append(out, d)
	}
	return out
}

func openedBy(st Status) string {
	if st.OpenedBy == "" {
		return ""
	}
	return " (opened by " + st.OpenedBy + ")"
}

// decideTraffic is the Prometheus decision: no requests in the gate's idle window.
func decideTraffic(ctx context.Context, prom Prometheus, app platform.App, st Status, rule IdleRule, now time.Time, d *IdleDecision) {
	if app.Gate.Kind == platform.GateSync && app.Gate.IdleQuery == "" {
		d.Reason = SyncGateNotIdle
		return
	}
	window := idleWindow(app, rule)
	if window <= 0 {
		d.Reason = "kept: no idle window (annotation " + platform.GateAnnotationPrefix + "idle-after)"
		return
	}
	d.Window = window.String()
	if st.UpSince != nil && now.Sub(*st.UpSince) < window {
		d.Reason = fmt.Sprintf("kept: open for %s, less than its idle window %s", now.Sub(*st.UpSince).Round(time.Second), window)
		return
	}
	if prom == nil {
		d.Reason = "kept: no Prometheus to ask for its traffic (--prometheus-url)"
		return
	}
	d.Query = IdleQuery(app, window)
	requests, hasData, err := prom.Query(ctx, d.Query)
	switch {
	case err != nil:
		d.Error, d.Reason = err.Error(), "kept: the traffic query failed"
	case !hasData && !rule.NoDataIsIdle:
		d.Reason = fmt.Sprintf("kept: no traffic data in Prometheus for the last %s (not closing blind; --no-data=idle would)", window)
	case requests < 0.5:
		d.Idle, d.Cause, d.Reason = true, CauseIdle, fmt.Sprintf("no requests in the last %s", window)
	default:
		d.Requests = requests
		d.Reason = fmt.Sprintf("kept: %.0f requests in the last %s", requests, window)
	}
}

// idleWindow is how long a gate must serve nothing to be idle: the run's
// override, else the gate's idle-after, else the run's default (0: never).
func idleWindow(app platform.App, rule IdleRule) time.Duration {
	switch {
	case rule.Override > 0:
		return rule.Override
	case app.Gate.IdleAfter > 0:
		return app.Gate.IdleAfter
	}
	return rule.Default
}

// SyncGateNotIdle is idle's decision for an open sync gate without an idle
// query: nothing says what traffic it serves.
const SyncGateNotIdle = "kept: a sync gate without " + platform.GateAnnotationPrefix + "idle-query: only leases and uptime windows close it"

// gateTarget names what a gate acts on in idle's decisions: its target, or a
// sync gate's Application.
func gateTarget(app platform.App) string {
	if app.Gate.Target != nil {
		return app.Gate.Target.String()
	}
	return "Application/" + app.Name
}

// NextDecision is when an open gate's idle decision can change with nothing
// about it changing: its lease ends, its uptime window opens or closes, its
// idle window has passed since it opened, or the next traffic check (every
// idleEvery, for a gate that has one). Zero for a closed gate: only a change
// to it (an up) makes it worth deciding again. A watcher sleeps until it.
func NextDecision(app platform.App, st Status, rule IdleRule, now time.Time, idleEvery time.Duration) time.Time {
	if !st.Open() {
		return time.Time{}
	}
	var next time.Time
	earliest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if st.ExpiresAt != nil {
		earliest(*st.ExpiresAt)
	}
	if u := app.Gate.Uptime; u != nil {
		earliest(u.Next(now))
	}
	if window := idleWindow(app, rule); window > 0 && (app.Gate.Kind != platform.GateSync || app.Gate.IdleQuery != "") {
		if st.UpSince != nil {
			earliest(st.UpSince.Add(window))
		}
		if idleEvery > 0 {
			earliest(now.Add(idleEvery))
		}
	}
	return next
}
