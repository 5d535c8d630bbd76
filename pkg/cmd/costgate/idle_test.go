package costgate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
)

// prometheus answers the idle queries: raw-vllm served nothing, coder-chat
// served 12 requests, and the query of coder-fim fails.
func prometheus(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		switch {
		case r.URL.Path != "/api/v1/query":
			http.NotFound(w, r)
		case strings.Contains(q, `pod=~"raw-vllm-.*"`):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764158400,"0"]}]}}`)
		case strings.Contains(q, `pod=~"coder-chat-.*"`):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764158400,"12"]}]}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"query timed out"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// raw-vllm open 1h30m without traffic closes; coder-chat (12 requests, and
// open less than its window anyway) stays; kserve-demo is paused and
// inference-demo, n8n are sync gates: not idle's business.
func TestIdle(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		args []string
	}{
		{"dry-run", "", []string{"idle", "--dry-run"}},
		{"closes", "", []string{"idle"}},
		{"json", "", []string{"idle", "-o", "json", "--idle-after", "1m"}},
		{"query-fails", "/not-prometheus", []string{"idle"}},
		{"bad-no-data", "", []string{"idle", "--no-data", "maybe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clitest.New(t, "kubectl-costgate", everyState(t)...)
			srv := prometheus(t)
			r := h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", append(tc.args, "--prometheus-url", srv.URL+tc.path)...)...)
			r.Stdout = strings.ReplaceAll(r.Stdout, srv.URL, "http://prometheus")
			r.Stderr = strings.ReplaceAll(r.Stderr, srv.URL, "http://prometheus")
			golden(t, "idle/"+tc.name, h, r)
		})
	}
}

// Every flag is checked before anything else: a --prometheus-url that is no
// URL fails even when no gate would be due, and the cluster is never asked.
func TestIdleRefusesABadPrometheusURL(t *testing.T) {
	for _, bad := range []string{"not a url", "prometheus:9090", "ftp://prometheus:9090", "http://"} {
		h := clitest.New(t, "kubectl-costgate")
		h.ClientErr = errNoCluster
		r := h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "idle", "--prometheus-url", bad)...)
		want := "error: --prometheus-url \"" + bad + "\": want an http(s) URL such as http://prometheus.monitoring:9090\n"
		if r.Code != 1 || r.Stderr != want {
			t.Errorf("%q: exit %d: %q", bad, r.Code, r.Stderr)
		}
	}
}
