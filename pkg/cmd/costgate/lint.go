package costgate

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// LintOptions checks the GitOps tree's gates, with no cluster.
type LintOptions struct {
	*common
	Output string
}

func newCmdLint(c *common) *cobra.Command {
	o := &LintOptions{common: c}
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Check the environment's gates statically so that no gate can be fought by selfHeal",
		Long: `Checks, without a cluster: every gated app is manual-sync; scale gates ignore /spec/replicas
of exactly their Deployment with RespectIgnoreDifferences=true; a paused InferenceService is
not deployed by an auto-sync app with selfHeal; KEDA ScaledObjects on gated targets are
paused; every gate has a cost; no gate target is deployed by another app. Each finding names
the file and the fix. Exit 1 on any error.`,
		Example: `  kubectl costgate lint --env ai-dev
  kubectl costgate lint --env sandbox -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// Run lints.
func (o *LintOptions) Run() error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	findings := costgate.Lint(env)
	if o.Output != "" {
		if findings == nil {
			findings = []costgate.Finding{}
		}
		if err := printers.Data(o.Out, o.Output, findings); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(o.Out, f)
		}
	}
	errors := 0
	for _, f := range findings {
		if f.Severity == costgate.Error {
			errors++
		}
	}
	if errors > 0 {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%d gate error(s) in environment %s", errors, env.Name)}
	}
	if o.Output == "" {
		fmt.Fprintf(o.Out, "%s: %d gates, no findings\n", env.Name, len(costgate.Gated(env)))
	}
	return nil
}
