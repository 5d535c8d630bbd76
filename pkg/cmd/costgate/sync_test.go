package costgate_test

import (
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
)

// The first sync of a sync gate deploys it: the operation patch, the refresh
// request once the operation ended, and the opened-at record, in that order;
// the result only after the refresh (the status at the operation's end is
// the stale OutOfSync/Missing, in the same second).
func TestSyncOpensASyncGate(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "n8n", "OutOfSync", "Missing"))
	h.Environ = map[string]string{"ARGOCD_SERVER": "127.0.0.1:1"} // kubectl's mode is the Kubernetes API unless --argocd-server
	simulateArgoCD(t, h, deployment("n8n", "n8n", 1, 1, nil))
	golden(t, "sync/opens", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "sync", "n8n")...))
}

// A re-sync of an open sync gate keeps when it was opened.
func TestSyncReSyncKeepsOpenedAt(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "n8n", "Synced", "Healthy",
		lastSync("2026-11-26T10:00:00Z"), annotated(pcostgate.OpenedAtAnnotation, "2026-11-26T10:00:00Z")))
	simulateArgoCD(t, h)
	golden(t, "sync/re-sync", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "sync", "n8n", "-o", "json")...))
}

func TestSyncRefusals(t *testing.T) {
	running := application(t, "raw-vllm", "OutOfSync", "Missing")
	running.Object["operation"] = map[string]any{"initiatedBy": map[string]any{"username": "alice"}, "sync": map[string]any{"revision": "HEAD"}}
	for _, tc := range []struct {
		name string
		h    *clitest.Harness
		args []string
	}{
		{"operation-running", clitest.New(t, "kubectl-costgate", running), []string{"sync", "raw-vllm"}},
		// No application-controller runs: nothing picks the operation up.
		{"no-controller", clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "OutOfSync", "Missing")), []string{"sync", "raw-vllm", "--timeout", "1s"}},
		{"unknown-app", clitest.New(t, "kubectl-costgate"), []string{"sync", "vllm"}},
		{"ungated-app", clitest.New(t, "kubectl-costgate"), []string{"sync", "keda"}},
		{"bad-timeout", clitest.New(t, "kubectl-costgate"), []string{"sync", "n8n", "--timeout", "0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "sync/"+tc.name, tc.h, tc.h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", tc.args...)...))
		})
	}
}
