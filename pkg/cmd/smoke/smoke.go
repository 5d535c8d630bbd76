// Package smoke is `kubectl smoke`: checks of the cluster and the profile, and an
// authenticated chat probe of the serving path, with an exit code CI can trust.
package smoke

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
)

const plugin = "kubectl-smoke"

// NewCmd returns the root of `kubectl smoke`.
func NewCmd(streams genericiooptions.IOStreams) *cobra.Command {
	root := cli.NewRoot(plugin,
		"Check the cluster and the platform profile, and probe the chat API",
		`kubectl smoke doctor checks the cluster, Argo CD and the deployed profile; kubectl smoke chat
sends an authenticated OpenAI-style POST /v1/chat/completions and expects a real answer;
kubectl smoke run does both. The exit code is 0 only when every check passes.`,
		`  # Print the plugin's version
  kubectl smoke version

  # Use another kubeconfig and context, like any kubectl command
  kubectl smoke --kubeconfig ~/.kube/sandbox --context sandbox version`)
	flags := genericclioptions.NewConfigFlags(true)
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(cli.NewCmdVersion(plugin, streams))
	return root
}
