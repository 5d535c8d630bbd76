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

// IdleQuery is the PromQL for a gate's traffic over window.
func IdleQuery(app platform.App, window time.Duration) string {
	q := app.Gate.IdleQuery
	if q == "" {
		q = DefaultScaleQuery
		if app.Gate.Kind == platform.GatePause {
			q = DefaultPauseQuery
		}
	}
	namespace, name := syncGateScope(app) // a sync gate: its destination namespace and its name
	if t := app.Gate.Target; t != nil {
		namespace, name = t.Namespace, t.Name
	}
	return strings.NewReplacer(
		"$namespace", namespace,
		"$name", name,
		"$window", fmt.Sprintf("%ds", int64(window.Seconds())),
	).Replace(q)
}

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
	Reason   string  `json:"reason"`
	Error    string  `json:"error,omitempty"`
}

// DecideIdle looks at every open gate and decides whether it has served no
// requests for its idle window; a sync gate only by its own idle-query. It
// writes nothing.
func DecideIdle(ctx context.Context, prom Prometheus, gates []platform.App, statuses []Status, rule IdleRule, now time.Time) []IdleDecision {
	var out []IdleDecision
	for i, app := range gates {
		st := statuses[i]
		if st.State != StateUp && st.State != StateStarting {
			continue
		}
		d := IdleDecision{App: app.Name, Target: gateTarget(app)}
		if app.Gate.Kind == platform.GateSync && app.Gate.IdleQuery == "" {
			d.Reason = SyncGateNotIdle
			out = append(out, d)
			continue
		}
		window := app.Gate.IdleAfter
		switch {
		case rule.Override > 0:
			window = rule.Override
		case window == 0:
			window = rule.Default
		}
		if window <= 0 {
			d.Reason = "kept: no idle window (annotation " + platform.GateAnnotationPrefix + "idle-after)"
			out = append(out, d)
			continue
		}
		d.Window = window.String()
		if st.UpSince != nil && now.Sub(*st.UpSince) < window {
			d.Reason = fmt.Sprintf("kept: open for %s, less than its idle window %s", now.Sub(*st.UpSince).Round(time.Second), window)
			out = append(out, d)
			continue
		}
		d.Query = IdleQuery(app, window)
		requests, hasData, err := prom.Query(ctx, d.Query)
		switch {
		case err != nil:
			d.Error, d.Reason = err.Error(), "kept: the traffic query failed"
		case !hasData && !rule.NoDataIsIdle:
			d.Reason = fmt.Sprintf("kept: no traffic data in Prometheus for the last %s (not closing blind; --no-data=idle would)", window)
		case requests < 0.5:
			d.Idle, d.Reason = true, fmt.Sprintf("no requests in the last %s", window)
		default:
			d.Requests = requests
			d.Reason = fmt.Sprintf("kept: %.0f requests in the last %s", requests, window)
		}
		out = append(out, d)
	}
	return out
}
