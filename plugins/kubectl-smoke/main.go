// Command kubectl-smoke is the kubectl plugin `kubectl smoke`.
package main

import (
	"os"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
)

func main() { os.Exit(cli.Main("kubectl-smoke", smoke.NewCmd)) }
