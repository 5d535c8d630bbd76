package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/version"
)

// VersionOptions prints the plugin's build identity.
type VersionOptions struct {
	Plugin string
	Output string
	genericiooptions.IOStreams
}

// NewCmdVersion is the `version` verb every plugin has.
func NewCmdVersion(plugin string, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{Plugin: plugin, IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version, commit and build date",
		Example: fmt.Sprintf(`  # One line
  kubectl %[1]s version

  # As JSON, for scripts
  kubectl %[1]s version -o json`, plugin[len("kubectl-"):]),
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml (default: one line)")
	return cmd
}

// Validate checks the output flag.
func (o *VersionOptions) Validate() error {
	switch o.Output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output %q is not supported: use json or yaml", o.Output)
}

// Run prints the version.
func (o *VersionOptions) Run() error {
	info := version.Get(o.Plugin)
	switch o.Output {
	case "json":
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.Out, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(info)
		if err != nil {
			return err
		}
		_, err = o.Out.Write(b)
		return err
	}
	_, err := fmt.Fprintln(o.Out, info.String())
	return err
}
