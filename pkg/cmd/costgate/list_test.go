package costgate_test

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
)

// everyState is a cluster where the gates are in every state: raw-vllm up for
// 1h30m, coder-chat starting (1 of 2 ready), coder-fim down, coder-agent
// without an Application (its layer not applied), kserve-demo paused,
// inference-demo up since its last sync (no opened-at: synced by other
// means), and n8n up since it was opened two hours ago although re-synced
// five minutes ago.
func everyState(t *testing.T) []runtime.Object {
	return []runtime.Object{
		application(t, "raw-vllm", "Synced", "Healthy"),
		application(t, "coder-chat", "Synced", "Healthy"),
		application(t, "coder-fim", "Synced", "Healthy"),
		application(t, "kserve-demo", "Synced", "Healthy"),
		application(t, "inference-demo", "Synced", "Healthy", lastSync("2026-11-26T11:30:00Z")),
		application(t, "n8n", "Synced", "Healthy", lastSync("2026-11-26T11:55:00Z"), annotated(pcostgate.OpenedAtAnnotation, "2026-11-26T10:00:00Z")),
		deployment("serving", "raw-vllm", 1, 1, map[string]string{pcostgate.OpenedAtAnnotation: "2026-11-26T10:30:00Z"}),
		deployment("coding-assistant", "coder-chat", 2, 1, map[string]string{pcostgate.OpenedAtAnnotation: "2026-11-26T11:55:00Z"}),
		deployment("coding-assistant", "coder-fim", 0, 0, map[string]string{pcostgate.PreviousReplicasAnnotation: "1"}),
		inferenceService(true, false),
	}
}

func TestList(t *testing.T) {
	for _, output := range []string{"", "wide", "json", "yaml"} {
		t.Run("output="+output, func(t *testing.T) {
			h := clitest.New(t, "kubectl-costgate", everyState(t)...)
			args := clitest.Args(t, "sandbox", "list")
			if output != "" {
				args = append(args, "-o", output)
			}
			r := h.Run(costgate.NewCmd, args...)
			name := output
			if name == "" {
				name = "table"
			}
			golden(t, "list/"+name, h, r)
		})
	}
}

func TestListErrors(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", everyState(t)...)
	h.Fake.Dynamic.PrependReactor("list", "applications", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applications"}, "",
			errors.New(`User "system:serviceaccount:ops:viewer" cannot list resource "applications" in API group "argoproj.io" in the namespace "argocd"`))
	})
	golden(t, "list/forbidden", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "list")...))

	h = clitest.New(t, "kubectl-costgate")
	golden(t, "list/bad-output", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "list", "-o", "name")...))
}
