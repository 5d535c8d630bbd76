// Command kubectl-profile is the kubectl plugin `kubectl profile`.
package main

import (
	"os"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
)

func main() { os.Exit(cli.Main("kubectl-profile", profile.NewCmd)) }
