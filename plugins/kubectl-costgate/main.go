// Command kubectl-costgate is the kubectl plugin `kubectl costgate` (and, named
// argocd-costgate, the argocd CLI plugin `argocd costgate`).
package main

import (
	"os"

	_ "github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/noi18n" // before anything calls kubectl's i18n.T

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
)

func main() { os.Exit(cli.Main("kubectl-costgate", costgate.NewCmd)) }
