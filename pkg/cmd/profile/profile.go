package profile

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// common is what every verb shares: the factory's streams, flags and clients.
type common struct{ *cli.Factory }

// NewCmd returns the root of `kubectl profile`.
func NewCmd(f *cli.Factory) *cobra.Command {
	root := f.NewRoot(
		"Apply additive deployment profiles of the platform's Argo CD ApplicationSets",
		`Deployment profiles are additive sets of layers (platform < serving < llm-gateway < full).
kubectl profile renders each layer's Argo CD ApplicationSet with kustomize, applies the
profile's layers with server-side apply, prunes what a narrower profile no longer holds,
and waits until the profile's applications are Synced and Healthy.

Everything about the platform (layers, profiles, groups, gates, and the names of
the ApplicationSets and the Applications they generate) is read from
clusters/<env>/platform.yaml, its config file, the catalog and the ApplicationSets.
For an existing tree, kubectl profile init infers platform.yaml from the rest.`,
		`  # Describe an existing tree: write clusters/team/platform.yaml
  kubectl profile init --env team --config config/platform-config.yaml

  # What profiles the environment has
  kubectl profile list --env ai-dev

  # Bring up the full platform and wait for it
  kubectl profile apply full --env ai-dev
  kubectl profile wait full --env ai-dev

  # Narrow to serving, removing the wider layers in reverse bring-up order
  kubectl profile apply serving --prune --env ai-dev

  # After changing config.yaml features
  kubectl profile resolve --env ai-dev`)
	c := &common{f}
	root.AddCommand(
		cli.Modes(newCmdInit(c), cli.ModeOffline), cli.Modes(newCmdList(c), cli.ModeOffline),
		cli.Modes(newCmdResolve(c), cli.ModeOffline), cli.Modes(newCmdRender(c), cli.ModeOffline), newCmdDiff(c),
		cli.Writes(newCmdApply(c)), cli.Modes(newCmdWait(c), cli.ModeServer), cli.Modes(newCmdStatus(c), cli.ModeServer), newCmdLint(c),
		cli.Modes(newCmdSecrets(c), cli.ModeOffline),
	)
	return root
}

// loadProfile loads the environment and resolves a profile name.
func (c *common) loadProfile(name string) (*platform.Env, platform.Profile, error) {
	env, err := c.Env()
	if err != nil {
		return nil, platform.Profile{}, err
	}
	p, err := env.Profile(name)
	return env, p, err
}

// connect returns the client once the cluster answered and runs Argo CD.
func (c *common) connect(ctx context.Context, env *platform.Env) (*kube.Client, error) {
	return c.Connect(ctx, env.Config.Namespace)
}

// profileArg is the positional PROFILE every verb but list/resolve/status takes.
func profileArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes exactly one PROFILE (see `%s list`)", cmd.Name(), cmd.Root().DisplayName())
	}
	return nil
}
