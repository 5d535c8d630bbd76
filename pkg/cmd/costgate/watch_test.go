package costgate_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/watch"
)

// Bad flags are refused, naming the flag, before anything is read.
func TestWatchRefusesBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no-data", []string{"--no-data", "maybe"}},
		{"interval", []string{"--idle-interval", "0s"}},
		{"prometheus-url", []string{"--prometheus-url", "prometheus:9090"}},
		{"log-format", []string{"--log-format", "xml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clitest.New(t, "kubectl-costgate")
			res := h.Run(costgate.NewCmd, append([]string{"watch"}, tc.args...)...)
			clitest.Golden(t, "watch/refused-"+tc.name, res.String())
		})
	}
}

// The watcher serves its probes and metrics, is ready once it has listed the
// Applications, and ends cleanly (exit 0) when its context ends (SIGTERM).
func TestWatchServesProbesAndMetricsAndStopsCleanly(t *testing.T) {
	listening := make(chan watch.Listening, 1)
	defer costgate.SetWatchListening(func(l watch.Listening) { listening <- l })()
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.Ctx = ctx
	done := make(chan clitest.Result, 1)
	go func() {
		done <- h.Run(costgate.NewCmd, "watch", "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address", "127.0.0.1:0")
	}()
	at := testwait.Recv(t, listening, "the endpoints to listen")
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("http://" + at.Probe + "/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	ready := make(chan int)
	go func() {
		for ctx.Err() == nil {
			code, _ := get("http://" + at.Probe + "/readyz")
			ready <- code
		}
	}()
	testwait.Until(t, ready, "/readyz to answer 200", func(code int) bool { return code == 200 })
	_, metrics := get("http://" + at.Metrics + "/metrics")
	for _, want := range []string{"costgate_watcher_leader 1", `costgate_gate_open{app="raw-vllm",gate="scale",target="Deployment/serving/raw-vllm"} 0`, "go_goroutines"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cancel()
	res := testwait.Recv(t, done, "the watch to stop")
	if res.Code != 0 || !strings.Contains(res.Stderr, `"msg":"stopped"`) {
		t.Errorf("exit %d, stderr:\n%s", res.Code, res.Stderr)
	}
}
