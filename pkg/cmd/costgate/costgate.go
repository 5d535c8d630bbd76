// Package costgate is `kubectl costgate`: the manual-sync Argo CD applications that
// cost money, opened and closed on demand without Argo CD undoing it.
package costgate

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
)

const plugin = "kubectl-costgate"

// NewCmd returns the root of `kubectl costgate`.
func NewCmd(streams genericiooptions.IOStreams) *cobra.Command {
	root := cli.NewRoot(plugin,
		"Open and close the platform's cost-gated Argo CD applications on demand",
		`Some Argo CD applications are manual-sync on purpose because they cost money: GPU model
servers, a CPU InferenceService that forces a second node, demos. kubectl costgate lists
them with their cost, syncs them on demand, scales them up and down (or pauses KServe with
serving.kserve.io/stop) without Argo CD undoing it, and lints the GitOps tree so that no
gate can be fought by selfHeal.`,
		`  # Print the plugin's version
  kubectl costgate version

  # Use another kubeconfig and context, like any kubectl command
  kubectl costgate --kubeconfig ~/.kube/sandbox --context sandbox version`)
	flags := genericclioptions.NewConfigFlags(true)
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(cli.NewCmdVersion(plugin, streams))
	return root
}
