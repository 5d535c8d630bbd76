package profile

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// LintOptions checks an environment's GitOps tree offline.
type LintOptions struct {
	*common
	Output string
	Strict bool
}

func newCmdLint(c *common) *cobra.Command {
	o := &LintOptions{common: c}
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Check the environment's tree offline: sources, pins, secrets, ApplicationSets",
		Long: `Checks, without a cluster, that the tree deploys as written, for every group whether
it is enabled or not:
  - the files resolve generates are up to date with the config;
  - one ApplicationSet per layer of platform.yaml, each reading the groups file it names;
  - every git source of an Application is a folder of this repository that builds
    (kustomize, offline, or a plain folder of manifests), with the config applied;
  - every chart (chart repository or OCI) is pinned to an exact version;
  - every image of the workload folders is pinned by a tag other than latest, or a digest;
  - every Secret a workload reads is produced in the tree: by an ExternalSecret, a
    CloudNativePG cluster, a cert-manager Certificate, or listed under seededSecrets.
Each finding names the file, the field and the fix. Exit 1 on any error.`,
		Example: `  kubectl profile lint --env ai-dev
  kubectl profile lint --env sandbox -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	cmd.Flags().BoolVar(&o.Strict, "strict", false, "Exit 1 on warnings too")
	return cmd
}

// Run lints.
func (o *LintOptions) Run() error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	report := cli.Lint{Env: env.Name, Output: o.Output, Strict: o.Strict,
		Subject: fmt.Sprintf("%d apps", len(env.Apps)), Kind: "tree"}
	return report.Report(o.Out, env.Lint())
}
