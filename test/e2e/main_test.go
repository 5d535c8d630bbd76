// Package e2e holds the end-to-end tests: they run against the sandbox (a real
// control plane and the real Argo CD controllers on loopback), started once per
// `go test` run. `go test -short` skips them and starts nothing.
package e2e

import (
	"os"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { os.Exit(sandbox.RunTests(m, &sb)) }
