package costgate

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// newCmdLint checks the GitOps tree's gates, with no cluster.
func newCmdLint(c *common) *cobra.Command {
	return c.NewCmdLint(
		"Check the environment's gates statically so that no gate can be fought by selfHeal",
		`Checks, without a cluster: every gated app is manual-sync; scale gates ignore /spec/replicas
of exactly their Deployment with RespectIgnoreDifferences=true; a paused InferenceService is
not deployed by an auto-sync app with selfHeal; KEDA ScaledObjects on gated targets are
paused; every gate has a cost; no gate target is deployed by another app. Each finding names
the file and the fix. Exit 1 on any error.

It also warns about every manual-sync Application (no syncPolicy.automated) without a
costgate.aidev.io/gate annotation: it deploys only on a sync, like a gate, but costgate
list, cost and idle do not see it, and about every gate whose max-open is shorter than
its idle-after (the lease always closes it first). Warnings do not fail lint (a tree
adopted as it is passes on day one while its apps are annotated); --strict makes them
fail too.`,
		`  kubectl costgate lint --env ai-dev
  kubectl costgate lint --env sandbox -o json

  # In CI, once every manual-sync app is annotated: keep it so
  kubectl costgate lint --env ai-dev --strict`,
		"Exit 1 on warnings too (manual-sync apps without a gate annotation, max-open below idle-after)",
		func(env *platform.Env) ([]platform.Finding, string, string) {
			return costgate.Lint(env), fmt.Sprintf("%d gates", len(costgate.Gated(env))), "gate"
		})
}
