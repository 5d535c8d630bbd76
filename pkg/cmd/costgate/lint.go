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
	// Strict fails on warnings too (a manual-sync app without a gate annotation).
	Strict bool
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
the file and the fix. Exit 1 on any error.

It also warns about every manual-sync Application (no syncPolicy.automated) without a
costgate.aidev.io/gate annotation: it deploys only on a sync, like a gate, but costgate
list, cost and idle do not see it. Warnings do not fail lint (a tree adopted as it is
passes on day one while its apps are annotated); --strict makes them fail too.`,
		Example: `  kubectl costgate lint --env ai-dev
  kubectl costgate lint --env sandbox -o json

  # In CI, once every manual-sync app is annotated: keep it so
  kubectl costgate lint --env ai-dev --strict`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	cmd.Flags().BoolVar(&o.Strict, "strict", false, "Exit 1 on warnings too (manual-sync apps without a gate annotation)")
	return cmd
}

// Run lints.
func (o *LintOptions) Run() error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	report := cli.Lint{Env: env.Name, Output: o.Output, Strict: o.Strict,
		Subject: fmt.Sprintf("%d gates", len(costgate.Gated(env))), Kind: "gate"}
	return report.Report(o.Out, costgate.Lint(env))
}
