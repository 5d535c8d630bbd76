package costgate_test

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// down remembers the count and waits until the pod is gone (the kubelet
// removes it once down has said it waits for it).
func TestDownOneGate(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"),
		deployment("serving", "raw-vllm", 2, 2, map[string]string{pcostgate.OpenedAtAnnotation: "2026-11-26T10:00:00Z"}),
		pod("serving", "raw-vllm-6f9c7d-x2x4k", "raw-vllm", podStarting))
	authorize(h)
	r := run(h, &script{steps: []step{{"waiting for 1 pod(s) to go", func() {
		if err := h.Fake.Dynamic.Tracker().Delete(kube.Pods.GVR, "serving", "raw-vllm-6f9c7d-x2x4k"); err != nil {
			t.Error(err)
		}
	}}}}, clitest.Args(t, "sandbox", "down", "raw-vllm")...)
	golden(t, "down/one-gate", h, r)
}

// down --all tries every open gate (coder-fim is closed; n8n, a sync gate,
// has its Deployment deleted): kserve-demo the user may not pause, coder-chat
// a webhook refuses, and the three that close, each reported; exit 1.
func TestDownAllReportsEachGate(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate",
		application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 1, 1, nil),
		application(t, "coder-chat", "Synced", "Healthy"), deployment("coding-assistant", "coder-chat", 2, 1, nil),
		application(t, "coder-fim", "Synced", "Healthy"), deployment("coding-assistant", "coder-fim", 0, 0, nil),
		application(t, "coder-agent", "Synced", "Healthy"), deployment("coding-assistant", "coder-agent", 1, 1, nil),
		application(t, "kserve-demo", "Synced", "Healthy"), inferenceService(false, true),
		application(t, "n8n", "Synced", "Healthy", deployed("apps", "v1", "Deployment", "n8n", "n8n")), withUID(deployment("n8n", "n8n", 1, 1, nil)))
	authorize(h, "patch inferenceservices.serving.kserve.io in kserve")
	h.Fake.Dynamic.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.PatchAction).GetName() == "coder-chat" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "coder-chat",
				errors.New(`admission webhook "freeze.example.com" denied the request: change freeze`))
		}
		return false, nil, nil
	})
	golden(t, "down/all", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "down", "--all", "--wait=false")...))
}

func TestDownRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"nothing-open", []string{"down", "--all"}},
		{"sync-gate-not-applied", []string{"down", "n8n"}},
		{"app-and-all", []string{"down", "raw-vllm", "--all"}},
		{"bad-timeout", []string{"down", "raw-vllm", "--timeout", "0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 0, 0, nil))
			authorize(h)
			golden(t, "down/"+tc.name, h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", tc.args...)...))
		})
	}
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 1, 1, nil))
	authorize(h, "patch deployments.apps in serving")
	golden(t, "down/forbidden", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "down", "raw-vllm")...))
}

// Ctrl-C while down waits for the pods: exit 130, the gate is closed.
func TestDownInterruptedWhileWaiting(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"),
		deployment("serving", "raw-vllm", 1, 1, nil), pod("serving", "raw-vllm-6f9c7d-x2x4k", "raw-vllm", podStarting))
	authorize(h)
	ctx, interrupt := context.WithCancelCause(context.Background())
	defer interrupt(nil)
	h.Ctx = ctx
	h.Fake.Dynamic.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		interrupt(cli.ErrInterrupted)
		return false, nil, nil
	})
	golden(t, "down/interrupted-while-waiting", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "down", "raw-vllm")...))
}
