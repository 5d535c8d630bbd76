package profile

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// ResolveOptions writes (or checks) the files generated from config.yaml.
type ResolveOptions struct {
	*common
	Check bool
}

func newCmdResolve(c *common) *cobra.Command {
	o := &ResolveOptions{common: c}
	cmd := &cobra.Command{
		Use:   "resolve",
		Short: "Resolve config.yaml features into the enabled groups the ApplicationSets read",
		Long: `Writes the resolved group list (every group with its layer, enabled flag and catalog
path) that the layer ApplicationSets' git-files generators read, and the appsets overlay
that sets repoURL, revision and namespace from config.yaml. Deterministic and idempotent:
a second run writes nothing. With --check it writes nothing and exits 1 with a diff when
the committed files are stale (for CI).`,
		Example: `  # After changing features: in config.yaml
  kubectl profile resolve --env ai-dev

  # In CI: fail when someone forgot to
  kubectl profile resolve --env ai-dev --check`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return o.Run() },
	}
	cmd.Flags().BoolVar(&o.Check, "check", false, "Write nothing; exit 1 with a diff when the generated files are stale")
	return cmd
}

// Run resolves, then writes or checks.
func (o *ResolveOptions) Run() error {
	env, err := o.Env() // validates features, groups and catalog folders first
	if err != nil {
		return err
	}
	files, err := env.Generated()
	if err != nil {
		return err
	}
	if o.Check {
		paths, diffs, err := env.StaleFiles()
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			fmt.Fprintf(o.Out, "%s: generated files are up to date with %s\n", env.Name, platform.ConfigFile)
			return nil
		}
		for _, p := range paths {
			fmt.Fprintf(o.Out, "--- %s (committed)\n+++ %s (from %s)\n%s", p, p, platform.ConfigFile, diffs[p])
		}
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%d generated file(s) stale: run `kubectl profile resolve --env %s`", len(paths), env.Name)}
	}
	wrote, err := platform.Write(files)
	if err != nil {
		return err
	}
	enabled := 0
	for _, g := range env.Resolve() {
		if g.Enabled == "true" {
			enabled++
		}
	}
	if len(wrote) == 0 {
		fmt.Fprintf(o.Out, "%s: %d of %d groups enabled; nothing to write\n", env.Name, enabled, len(env.Resolve()))
		return nil
	}
	for _, p := range wrote {
		fmt.Fprintf(o.Out, "wrote %s\n", p)
	}
	fmt.Fprintf(o.Out, "%s: %d of %d groups enabled\n", env.Name, enabled, len(env.Resolve()))
	return nil
}
