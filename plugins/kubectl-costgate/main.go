// Command kubectl-costgate is the kubectl plugin `kubectl costgate`.
package main

import (
	"os"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
)

func main() { os.Exit(cli.Main("kubectl-costgate", costgate.NewCmd)) }
