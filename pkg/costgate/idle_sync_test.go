package costgate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// idle decides on an open sync gate only by its own idle-query ($namespace:
// its Application's destination, $name: the app); without one it is kept.
func TestDecideIdleOnSyncGates(t *testing.T) {
	env := sandbox(t)
	plain, queried := gate(t, env, "inference-demo"), gate(t, env, "inference-demo")
	g := *queried.Gate
	g.IdleQuery, g.IdleAfter = `sum(increase(http_requests_total{namespace="$namespace",app="$name"}[$window]))`, 30*time.Minute
	queried.Gate = &g
	prom := prometheus{`namespace="inference-demo",app="inference-demo"`: "0"}
	up := []Status{{State: StateUp}}
	var lines []string
	for _, app := range []platform.App{plain, queried} {
		for _, d := range DecideIdle(context.Background(), prom, []platform.App{app}, up, IdleRule{}, now) {
			lines = append(lines, fmt.Sprintf("%s (%s) idle=%v query=%s: %s", d.App, d.Target, d.Idle, d.Query, d.Reason))
		}
	}
	want := "inference-demo (Application/inference-demo) idle=false query=: " + SyncGateNotIdle + "\n" +
		`inference-demo (Application/inference-demo) idle=true query=sum(increase(http_requests_total{namespace="inference-demo",app="inference-demo"}[1800s])): no requests in the last 30m0s`
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
