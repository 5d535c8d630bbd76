package costgate_test

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// deployed lists an object in an Application's status.resources, as Argo CD
// does for what the app's sync applied.
func deployed(group, version, kind, ns, name string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		list, _, _ := unstructured.NestedSlice(u.Object, "status", "resources")
		list = append(list, map[string]any{"group": group, "version": version, "kind": kind, "namespace": ns, "name": name, "status": "Synced"})
		_ = unstructured.SetNestedSlice(u.Object, list, "status", "resources")
	}
}

// outOfSync marks every object an Application lists OutOfSync, as Argo CD
// does once they are gone.
func outOfSync(u *unstructured.Unstructured) {
	list, _, _ := unstructured.NestedSlice(u.Object, "status", "resources")
	for _, r := range list {
		r.(map[string]any)["status"] = "OutOfSync"
	}
	_ = unstructured.SetNestedSlice(u.Object, list, "status", "resources")
}

// withUID gives an object the UID the API server would.
func withUID(u *unstructured.Unstructured) *unstructured.Unstructured {
	u.SetUID(types.UID("uid-" + u.GetName()))
	return u
}

// down of a sync gate deletes what its sync deployed (the Namespace of
// CreateNamespace kept), clears opened-at, and waits until the Deployment
// (foreground: it outlives its pod) and its pod are gone, the garbage
// collector (then Argo CD's reconciliation) moving once down has said what it
// waits on.
func TestDownSyncGate(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate",
		application(t, "inference-demo", "Synced", "Healthy", annotated(pcostgate.OpenedAtAnnotation, "2026-11-26T10:00:00Z"),
			deployed("", "v1", "Namespace", "", "inference-demo"), deployed("apps", "v1", "Deployment", "inference-demo", "inference-demo")),
		withUID(deployment("inference-demo", "inference-demo", 1, 1, nil)),
		pod("inference-demo", "inference-demo-5d8f7-q2w3e", "inference-demo", podStarting))
	h.Fake.Foreground()
	authorize(h)
	tracker := h.Fake.Dynamic.Tracker()
	gc := func(k kube.Kind, name string) func() {
		return func() {
			if err := tracker.Delete(k.GVR, "inference-demo", name); err != nil {
				t.Error(err)
			}
		}
	}
	r := run(h, &script{steps: []step{
		{"waiting for 1 pod(s) to go", gc(kube.Pods, "inference-demo-5d8f7-q2w3e")},
		{"waiting for 1 object(s) to go", gc(kube.Deployments, "inference-demo")},
		{"waiting for Argo CD to see", func() { // its next reconciliation
			store(t, h, kube.Applications, application(t, "inference-demo", "OutOfSync", "Missing",
				deployed("", "v1", "Namespace", "", "inference-demo"), deployed("apps", "v1", "Deployment", "inference-demo", "inference-demo"), outOfSync))
		}},
	}}, clitest.Args(t, "sandbox", "down", "inference-demo")...)
	golden(t, "down/sync-gate", h, r)
}

// A user who may not delete the Deployment: refused before any delete, the
// missing permission named.
func TestDownSyncGateForbidden(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate",
		application(t, "inference-demo", "Synced", "Healthy", deployed("apps", "v1", "Deployment", "inference-demo", "inference-demo")),
		withUID(deployment("inference-demo", "inference-demo", 1, 1, nil)))
	authorize(h, "delete deployments.apps in inference-demo", "watch pods in inference-demo")
	golden(t, "down/sync-gate-forbidden", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "down", "inference-demo")...))
}

// Ctrl-C between two deletes of a sync gate: exit 130, and the error says
// what was deleted, not "nothing changed".
func TestDownSyncGateInterruptedBetweenDeletes(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate",
		application(t, "inference-demo", "Synced", "Healthy",
			deployed("apps", "v1", "Deployment", "inference-demo", "inference-demo"), deployed("", "v1", "ConfigMap", "inference-demo", "settings")),
		withUID(deployment("inference-demo", "inference-demo", 1, 1, nil)),
		withUID(&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "settings", "namespace": "inference-demo"}}}))
	authorize(h)
	ctx, interrupt := context.WithCancelCause(context.Background())
	defer interrupt(nil)
	h.Ctx = ctx
	h.Fake.Dynamic.PrependReactor("delete", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		interrupt(cli.ErrInterrupted)
		return false, nil, nil
	})
	golden(t, "down/sync-gate-interrupted", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "down", "inference-demo")...))
}
