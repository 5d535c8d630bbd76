// Package profile is `kubectl profile`: additive deployment profiles of Argo CD
// ApplicationSets, rendered in process and applied server-side.
package profile

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
)

const plugin = "kubectl-profile"

// NewCmd returns the root of `kubectl profile`.
func NewCmd(streams genericiooptions.IOStreams) *cobra.Command {
	root := cli.NewRoot(plugin,
		"Apply additive deployment profiles of the platform's Argo CD ApplicationSets",
		`Deployment profiles are additive sets of layers (platform < serving < llm-gateway < full).
kubectl profile renders each layer's Argo CD ApplicationSet with kustomize, applies the
profile's layers with server-side apply, prunes what a narrower profile no longer holds,
and waits until the profile's applications are Synced and Healthy.`,
		`  # Print the plugin's version
  kubectl profile version

  # Use another kubeconfig and context, like any kubectl command
  kubectl profile --kubeconfig ~/.kube/sandbox --context sandbox version`)
	flags := genericclioptions.NewConfigFlags(true)
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(cli.NewCmdVersion(plugin, streams))
	return root
}
