package smoke

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Each status maps to JUnit: FAIL a failure with its fix, SKIP skipped, PASS
// and WARN pass with the message in system-out; times in seconds.
func TestWriteJUnit(t *testing.T) {
	checks := []Check{
		{Name: "cluster", Status: Pass, Message: "answers", Duration: 12 * time.Millisecond},
		{Name: "gpu-capacity", Status: Warn, Message: "no GPU <yet>", Fix: "scale the pool", Duration: 3 * time.Millisecond},
		{Name: "rbac", Status: Fail, Message: "not allowed: x", Fix: "grant it", Duration: 1500 * time.Millisecond},
		{Name: "argocd-crds", Status: Fail, Message: "reading CRD: timeout"},
		{Name: "loadbalancers", Status: Skip, Message: "no LoadBalancer Services"},
	}
	var b strings.Builder
	if err := WriteJUnit(&b, "kubectl-smoke", checks); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="kubectl-smoke" tests="5" failures="2" skipped="1" time="1.515">
  <testcase name="cluster" classname="kubectl-smoke" time="0.012">
    <system-out>PASS: answers</system-out>
  </testcase>
  <testcase name="gpu-capacity" classname="kubectl-smoke" time="0.003">
    <system-out>WARN: no GPU &lt;yet&gt;</system-out>
  </testcase>
  <testcase name="rbac" classname="kubectl-smoke" time="1.500">
    <failure message="not allowed: x">fix: grant it</failure>
    <system-out>FAIL: not allowed: x</system-out>
  </testcase>
  <testcase name="argocd-crds" classname="kubectl-smoke" time="0.000">
    <failure message="reading CRD: timeout"></failure>
    <system-out>FAIL: reading CRD: timeout</system-out>
  </testcase>
  <testcase name="loadbalancers" classname="kubectl-smoke" time="0.000">
    <skipped message="no LoadBalancer Services"></skipped>
    <system-out>SKIP: no LoadBalancer Services</system-out>
  </testcase>
</testsuite>
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// failingWriter fails every write, like a full disk.
type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriteJUnitReportsWriteErrors(t *testing.T) {
	if err := WriteJUnit(failingWriter{}, "s", nil); !errors.Is(err, errDiskFull) {
		t.Errorf("got %v, want disk full", err)
	}
}
