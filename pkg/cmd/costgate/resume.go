package costgate

import "github.com/spf13/cobra"

func newCmdResume(c *common) *cobra.Command {
	return newPauseCmd(c, true, "resume APP", "Resume a KServe gate: remove serving.kserve.io/stop from its InferenceService",
		`  kubectl costgate resume kserve-demo --env ai-dev
  kubectl costgate resume kserve-demo --wait --env ai-dev`)
}
