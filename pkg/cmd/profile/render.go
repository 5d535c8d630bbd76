package profile

import (
	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
)

// RenderOptions prints what a profile applies.
type RenderOptions struct {
	*common
	Profile string
	Output  string
}

func newCmdRender(c *common) *cobra.Command {
	o := &RenderOptions{common: c}
	cmd := &cobra.Command{
		Use:   "render PROFILE",
		Short: "Print the AppProject and the profile's ApplicationSets, built with kustomize in process",
		Example: `  kubectl profile render full --env ai-dev
  kubectl profile render serving --env ai-dev -o json`,
		Args:              profileArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.ProfileNames),
		RunE: func(_ *cobra.Command, args []string) error {
			o.Profile = args[0]
			if o.Output == "" {
				o.Output = "yaml"
			}
			if err := printers.ValidateFormat(o.Output, "yaml", "json"); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "yaml", "Output format: yaml or json")
	return cmd
}

// Run renders and prints.
func (o *RenderOptions) Run() error {
	// The catalog's Applications do not change what render prints: it is not read.
	env, err := o.LayoutEnv()
	if err != nil {
		return err
	}
	p, err := env.Profile(o.Profile)
	if err != nil {
		return err
	}
	objs, err := profile.Desired(env, p)
	if err != nil {
		return err
	}
	return printers.Objects(o.Out, o.Output, objs)
}
