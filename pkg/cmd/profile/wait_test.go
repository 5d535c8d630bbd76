package profile_test

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// liveApps returns the Applications a profile expects, Synced and Healthy,
// except those in odd, which get the status odd gives them.
func liveApps(t *testing.T, profileName string, odd map[string]map[string]any) []runtime.Object {
	t.Helper()
	env, err := platform.Load(clitest.Clusters(t), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Profile(profileName)
	if err != nil {
		t.Fatal(err)
	}
	expected, err := env.ExpectedApps(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for _, a := range expected {
		status := map[string]any{
			"sync":         map[string]any{"status": "Synced", "revision": "abc123"},
			"health":       map[string]any{"status": "Healthy"},
			"reconciledAt": "2026-11-26T11:59:00Z",
		}
		if a.Gated {
			status = map[string]any{"sync": map[string]any{"status": "OutOfSync"}, "health": map[string]any{"status": "Missing"}}
		}
		app := map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": a.Name, "namespace": "argocd"},
			"status":   status,
		}
		if o, ok := odd[a.Name]; ok {
			for k, v := range o {
				if k == "operation" {
					app["operation"] = v
					continue
				}
				status[k] = v
			}
		}
		out = append(out, &unstructured.Unstructured{Object: app})
	}
	return out
}

func wait(t *testing.T, h *clitest.Harness, args ...string) clitest.Result {
	t.Helper()
	return h.Run(profile.NewCmd, clitest.Args(t, "sandbox", append([]string{"wait"}, args...)...)...)
}

func TestWaitReadyProfile(t *testing.T) {
	h := clitest.New(t, "kubectl-profile", liveApps(t, "serving", nil)...)
	clitest.Golden(t, "wait-serving-ready", wait(t, h, "serving").String())
}

// Synced and Healthy is not ready while a sync operation is requested or
// running, nor when the last one failed: the wait times out and says why.
func TestWaitIsNotDoneWhileAnOperationRuns(t *testing.T) {
	h := clitest.New(t, "kubectl-profile", liveApps(t, "platform", map[string]map[string]any{
		"cert-manager": {"operationState": map[string]any{"phase": "Running", "message": "waiting for healthy state of apps/Deployment/cert-manager"}},
		"keda":         {"operation": map[string]any{"sync": map[string]any{"revision": "HEAD"}}},
		"opencost":     {"operationState": map[string]any{"phase": "Failed", "message": "one or more objects failed to apply"}},
	})...)
	clitest.Golden(t, "wait-operation-running", wait(t, h, "platform", "--timeout", "300ms").String())
}

func TestWaitFailsOnDegradedPastGrace(t *testing.T) {
	h := clitest.New(t, "kubectl-profile", liveApps(t, "platform", map[string]map[string]any{
		"kyverno": {"health": map[string]any{"status": "Degraded", "message": "Deployment kyverno-admission-controller has 0/1 ready"}},
	})...)
	clitest.Golden(t, "wait-degraded", wait(t, h, "platform", "--degraded-grace", "0s").String())
}

// A user who may not list Applications is told so at once, not after the timeout.
func TestWaitForbiddenEndsAtOnce(t *testing.T) {
	h := clitest.New(t, "kubectl-profile")
	h.Fake.Dynamic.PrependReactor("list", "applications", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applications"}, "",
			errors.New(`User "viewer" cannot list resource "applications" in API group "argoproj.io" in the namespace "argocd"`))
	})
	clitest.Golden(t, "wait-forbidden", wait(t, h, "platform", "--timeout", "10m").String())
}

// An ApplicationSet that cannot generate its apps (here: the AppProject its
// template names does not exist) fails the wait once its error has stood for
// a short grace, naming the ApplicationSet and Argo CD's message, instead of
// "not created yet" until the timeout.
func TestWaitFailsOnAnApplicationSetError(t *testing.T) {
	objs := liveApps(t, "platform", nil)
	failing := kubetest.Objects(`apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: layer-serving, namespace: argocd}
status:
  conditions:
  - type: ErrorOccurred
    status: "True"
    reason: ApplicationGenerationFromParamsError
    message: 'error getting project research: AppProject.argoproj.io "research" not found'
    lastTransitionTime: "2026-11-26T11:59:00Z"
  - {type: ParametersGenerated, status: "True", lastTransitionTime: "2026-11-26T11:59:00Z"}
`)
	h := clitest.New(t, "kubectl-profile", append(objs, failing...)...)
	clitest.Golden(t, "wait-appset-error", wait(t, h, "serving", "--timeout", "1m", "--appset-grace", "0s").String())
}
