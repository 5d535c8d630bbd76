package costgate_test

import (
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
)

// pause and resume write the stop annotation (and opened-at) and nothing else.
func TestPauseAndResume(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stopped bool
		args    []string
	}{
		{"pause", false, []string{"pause", "kserve-demo"}},
		{"pause-paused", true, []string{"pause", "kserve-demo"}},
		{"resume", true, []string{"resume", "kserve-demo"}},
		{"resume-wait", true, []string{"resume", "kserve-demo", "--wait"}},
		{"pause-scale-gate", false, []string{"pause", "raw-vllm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Ready: a resumed InferenceService serves again at once here.
			h := clitest.New(t, "kubectl-costgate", application(t, "kserve-demo", "Synced", "Healthy"), inferenceService(tc.stopped, true))
			authorize(h)
			golden(t, "pause/"+tc.name, h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", tc.args...)...))
		})
	}
	h := clitest.New(t, "kubectl-costgate", application(t, "kserve-demo", "Synced", "Healthy"), inferenceService(true, false))
	authorize(h, "patch inferenceservices.serving.kserve.io in kserve")
	golden(t, "pause/resume-forbidden", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "resume", "kserve-demo")...))
}
