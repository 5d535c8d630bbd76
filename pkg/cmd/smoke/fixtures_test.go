package smoke_test

import (
	"regexp"
	"testing"

	authv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// sandbox loads the repository's sandbox environment, which the commands read.
func sandbox(t *testing.T) *platform.Env { return smoketest.Sandbox(t, clitest.Clusters(t)) }

// healthy is a sandbox cluster where every doctor check of profile passes, at
// the harness's clock.
func healthy(t *testing.T, profile string) []runtime.Object {
	return smoketest.Healthy(t, sandbox(t), profile, clitest.Clock)
}

// allow answers the harness's access reviews with allowed(attributes).
func allow(h *clitest.Harness, allowed func(authv1.ResourceAttributes) bool) {
	smoketest.Allow(h.Fake, allowed)
}

var (
	millis    = regexp.MustCompile(`\b\d+ ms\b`)
	localPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	// -o json and yaml omit a latency of 0 ms, so the lines go rather than their values.
	dataMillis = regexp.MustCompile(`(?m)^\s*"?(latencyMillis|timeToFirstTokenMillis)"?: \d+,?\n`)
)

// normalize replaces what varies between runs: latencies and local ports.
func normalize(s string) string {
	s = millis.ReplaceAllString(s, "N ms")
	s = dataMillis.ReplaceAllString(s, "")
	return localPort.ReplaceAllString(s, "127.0.0.1:PORT")
}
