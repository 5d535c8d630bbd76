// Package gates holds the end-to-end tests of the cost gates, the smoke gate,
// the personas' RBAC and interrupted commands. They run against a sandbox of
// their own, beside test/e2e's: go test runs the two packages at once, and
// most of their time is spent waiting on Argo CD, not on the CPU.
package gates

import (
	"os"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { os.Exit(sandbox.RunTests(m, &sb)) }
