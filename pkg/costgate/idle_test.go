package costgate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// prometheus answers each query with the value of the first key it contains;
// "" marks a query with no series, and "error" a failing one.
type prometheus map[string]string

func (p prometheus) Query(_ context.Context, q string) (float64, bool, error) {
	for k, v := range p {
		if !strings.Contains(q, k) {
			continue
		}
		switch v {
		case "":
			return 0, false, nil
		case "error":
			return 0, false, errors.New("Prometheus at http://prometheus:9090: connection refused")
		}
		var f float64
		_, err := fmt.Sscan(v, &f)
		return f, true, err
	}
	return 0, false, nil
}

func TestDecideIdle(t *testing.T) {
	env := sandbox(t)
	gated := Gated(env)
	open := func(since string) Status {
		t, _ := time.Parse(time.RFC3339, since)
		return Status{State: StateUp, UpSince: &t}
	}
	statuses := make([]Status, len(gated))
	for i, a := range gated {
		switch a.Name {
		case "raw-vllm", "coder-fim", "coder-agent", "inference-demo", "n8n":
			statuses[i] = open("2026-11-26T10:00:00Z")
		case "coder-chat":
			statuses[i] = open("2026-11-26T11:50:00Z") // opened 10 minutes ago
		case "kserve-demo":
			statuses[i] = Status{State: StateStarting}
		}
	}
	prom := prometheus{`namespace="serving"`: "0", `pod=~"coder-fim-.*"`: "12", `pod=~"coder-agent-.*"`: "", "qwen-cpu": "error"}
	var lines []string
	for _, rule := range []IdleRule{{}, {NoDataIsIdle: true}, {Override: 5 * time.Minute}} {
		lines = append(lines, fmt.Sprintf("--- %+v", rule))
		for _, d := range DecideIdle(context.Background(), prom, gated, statuses, rule, now) {
			lines = append(lines, fmt.Sprintf("%+v", d))
		}
	}
	golden.Assert(t, "testdata/idle.golden", strings.Join(lines, "\n")+"\n")

	raw := gate(t, env, "raw-vllm")
	g := *raw.Gate
	g.IdleAfter = 0
	raw.Gate = &g
	d := DecideIdle(context.Background(), prom, []platform.App{raw}, []Status{{State: StateUp}}, IdleRule{}, now)
	if len(d) != 1 || d[0].Reason != "kept: no idle window (annotation costgate.aidev.io/idle-after)" {
		t.Errorf("no window: %+v", d)
	}
}

func TestDirectPrometheusReadsAnInstantVector(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		switch {
		case r.URL.Path != "/api/v1/query":
			http.NotFound(w, r)
		case q == "two":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"2.5"]},{"value":[1,"0.5"]}]}}`)
		case q == "none":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		case q == "matrix":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		case q == "bad value":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"many"]}]}}`)
		case q == "syntax":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","error":"parse error"}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `<html>bad gateway</html>`)
		}
	}))
	defer srv.Close()
	p := &DirectPrometheus{URL: srv.URL + "/"}
	var lines []string
	for _, q := range []string{"two", "none", "matrix", "bad value", "syntax", "html"} {
		v, ok, err := p.Query(context.Background(), q)
		lines = append(lines, fmt.Sprintf("%s: %v %v %v", q, v, ok, err))
	}
	got := strings.ReplaceAll(strings.Join(lines, "\n"), srv.URL, "URL")
	want := `two: 3 true <nil>
none: 0 false <nil>
matrix: 0 false Prometheus URL/: want an instant vector, got matrix
bad value: 0 false Prometheus URL/: value "many": strconv.ParseFloat: parsing "many": invalid syntax
syntax: 0 false Prometheus URL/: parse error
html: 0 false Prometheus URL/ answered 502, not a query result: <html>bad gateway</html>`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	srv.Close()
	if _, _, err := p.Query(context.Background(), "two"); err == nil || !strings.HasPrefix(err.Error(), "Prometheus at "+srv.URL+"/: ") {
		t.Errorf("server gone: %v", err)
	}
}

func TestIdleQuery(t *testing.T) {
	env := sandbox(t)
	for name, want := range map[string]string{
		"raw-vllm":    `sum(increase(vllm:request_success_total{namespace="serving",pod=~"raw-vllm-.*"}[1800s]))`,
		"kserve-demo": `sum(increase(request_predict_seconds_count{namespace="kserve",pod=~"qwen-cpu-predictor-.*"}[1800s]))`,
	} {
		if got := IdleQuery(gate(t, env, name), 30*time.Minute); got != want {
			t.Errorf("%s: %s", name, got)
		}
	}
}
