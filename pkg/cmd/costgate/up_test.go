package costgate_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// simulateKubelet starts a Pending pod (no GPU free) when a Deployment is
// scaled up, as the scheduler would leave it.
func simulateKubelet(t *testing.T, h *clitest.Harness) {
	h.Fake.Dynamic.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if replicas, _, _ := unstructured.NestedInt64(mustJSON(p.GetPatch()), "spec", "replicas"); replicas > 0 {
			store(t, h, kube.Pods, pod(p.GetNamespace(), p.GetName()+"-6f9c7d-x2x4k", p.GetName(), podUnschedulable))
		}
		return false, nil, nil
	})
}

// setReady is the Deployment controller counting ready pods.
func setReady(t *testing.T, h *clitest.Harness, ns, name string, ready int64) {
	d := h.Fake.Get(kube.Deployments, ns, name).DeepCopy()
	_ = unstructured.SetNestedField(d.Object, ready, "status", "readyReplicas")
	store(t, h, kube.Deployments, d)
}

func setReplicas(t *testing.T, h *clitest.Harness, ns, name string, replicas int64) {
	d := h.Fake.Get(kube.Deployments, ns, name).DeepCopy()
	_ = unstructured.SetNestedField(d.Object, replicas, "spec", "replicas")
	store(t, h, kube.Deployments, d)
}

// podSteps move raw-vllm's pod from Pending to Ready, each once up has said
// the previous state.
func podSteps(t *testing.T, h *clitest.Harness) []step {
	name := "raw-vllm-6f9c7d-x2x4k"
	return []step{
		{"Insufficient nvidia.com/gpu", func() { store(t, h, kube.Pods, pod("serving", name, "raw-vllm", podPulling)) }},
		{"ContainerCreating", func() { store(t, h, kube.Pods, pod("serving", name, "raw-vllm", podStarting)) }},
		{"Running, not Ready yet", func() { setReady(t, h, "serving", "raw-vllm", 1) }},
	}
}

// raw-vllm not deployed yet: up syncs it (the exact operation request), waits
// for a reconciliation after the sync, scales it to the gate's 1 (the exact
// patch) and reports each state of its pod until it is ready. An exported
// ARGOCD_SERVER (as argocd CLI users have it) does not move kubectl costgate
// off the Kubernetes API, for the sync or anything else: one mode a command.
func TestUpSyncsFirstOpensAndWaits(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "OutOfSync", "Missing"))
	h.Environ = map[string]string{"ARGOCD_SERVER": "127.0.0.1:1", "ARGOCD_AUTH_TOKEN": "not-used"}
	authorize(h)
	simulateArgoCD(t, h, deployment("serving", "raw-vllm", 0, 0, nil))
	simulateKubelet(t, h)
	r := run(h, &script{steps: podSteps(t, h)}, clitest.Args(t, "sandbox", "up", "raw-vllm", "--timeout", "20s")...)
	golden(t, "up/syncs-opens-waits", h, r)
}

// An open gate is never lowered: without --replicas it stays at 3.
func TestUpOnAnOpenGateKeepsItsCount(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"),
		deployment("serving", "raw-vllm", 3, 3, map[string]string{pcostgate.OpenedAtAnnotation: "2026-11-26T10:00:00Z"}))
	authorize(h)
	golden(t, "up/open-gate-keeps-its-count", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "up", "raw-vllm")...))

	h = clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"),
		deployment("serving", "raw-vllm", 3, 3, map[string]string{pcostgate.OpenedAtAnnotation: "2026-11-26T10:00:00Z"}))
	authorize(h)
	golden(t, "up/open-gate-explicit-replicas", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "up", "raw-vllm", "--replicas", "1", "--wait=false")...))
}

func TestUpAboveTheMaximumNeedsForce(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 0, 0, nil))
	authorize(h)
	golden(t, "up/forced-above-maximum", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "up", "raw-vllm", "--replicas", "12", "--force", "--wait=false")...))
}

// Every refusal comes before the first write: none is sent.
func TestUpRefusesBeforeWriting(t *testing.T) {
	unsafe := func(edit func(*unstructured.Unstructured)) runtime.Object {
		return application(t, "raw-vllm", "OutOfSync", "Missing", edit)
	}
	scaledObject := kubetest.Objects(`apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: raw-vllm, namespace: serving}
spec:
  scaleTargetRef: {name: raw-vllm}
`)[0]
	for _, tc := range []struct {
		name      string
		objs      []runtime.Object
		deny      []string
		noCluster bool
		args      []string
	}{
		{name: "no-ignore-differences", objs: []runtime.Object{unsafe(func(u *unstructured.Unstructured) {
			unstructured.RemoveNestedField(u.Object, "spec", "ignoreDifferences")
		})}, args: []string{"up", "raw-vllm"}},
		{name: "no-respect-ignore-differences", objs: []runtime.Object{unsafe(func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedStringSlice(u.Object, []string{"CreateNamespace=true", "ServerSideApply=true"}, "spec", "syncPolicy", "syncOptions")
		})}, args: []string{"up", "raw-vllm"}},
		{name: "keda-not-paused", objs: []runtime.Object{application(t, "raw-vllm", "OutOfSync", "Missing"), scaledObject}, args: []string{"up", "raw-vllm"}},
		{name: "may-not-scale", objs: []runtime.Object{application(t, "raw-vllm", "OutOfSync", "Missing")},
			deny: []string{"patch deployments.apps in serving"}, args: []string{"up", "raw-vllm"}},
		{name: "may-not-sync-nor-watch-pods", objs: []runtime.Object{application(t, "raw-vllm", "OutOfSync", "Missing")},
			deny: []string{"patch applications.argoproj.io in argocd", "watch pods in serving"}, args: []string{"up", "raw-vllm"}},
		{name: "above-maximum", noCluster: true, args: []string{"up", "raw-vllm", "--replicas", "100000"}},
		{name: "unknown-app", noCluster: true, args: []string{"up", "no-such-app"}},
		{name: "sync-gate", noCluster: true, args: []string{"up", "n8n"}},
		{name: "replicas-of-a-pause-gate", noCluster: true, args: []string{"up", "kserve-demo", "--replicas", "2"}},
		// An explicit 0 is no "not given": it would close the gate.
		{name: "replicas-zero", noCluster: true, args: []string{"up", "raw-vllm", "--replicas", "0"}},
		{name: "no-application", args: []string{"up", "coder-agent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := clitest.New(t, "kubectl-costgate", tc.objs...)
			if tc.noCluster {
				h.ClientErr = errNoCluster
			}
			authorize(h, tc.deny...)
			golden(t, "up/refused-"+tc.name, h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", tc.args...)...))
		})
	}
}

// Someone closes the gate while up waits for it: up stops and says so.
func TestUpStopsWhenSomeoneElseClosesTheGate(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 0, 0, nil))
	authorize(h)
	simulateKubelet(t, h)
	r := run(h, &script{steps: []step{{"Insufficient nvidia.com/gpu", func() { setReplicas(t, h, "serving", "raw-vllm", 0) }}}},
		clitest.Args(t, "sandbox", "up", "raw-vllm")...)
	golden(t, "up/closed-by-someone-else", h, r)
}

// Ctrl-C while up waits: exit 130, and what is open and what to run.
func TestUpInterruptedWhileWaiting(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 0, 0, nil))
	authorize(h)
	ctx, interrupt := context.WithCancelCause(context.Background())
	defer interrupt(nil)
	h.Ctx = ctx
	h.Fake.Dynamic.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		interrupt(cli.ErrInterrupted) // the user presses Ctrl-C as the gate opens
		return false, nil, nil
	})
	golden(t, "up/interrupted-while-waiting", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "up", "raw-vllm")...))
}

// Ctrl-C during the sync up runs first: the gate is not open, up again finishes.
func TestUpInterruptedWhileSyncing(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "OutOfSync", "Missing"))
	authorize(h)
	ctx, interrupt := context.WithCancelCause(context.Background())
	defer interrupt(nil)
	h.Ctx = ctx
	h.Fake.Dynamic.PrependReactor("patch", "applications", func(k8stesting.Action) (bool, runtime.Object, error) {
		interrupt(cli.ErrInterrupted)
		return false, nil, nil
	})
	golden(t, "up/interrupted-while-syncing", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "up", "raw-vllm")...))
}

// Concurrent writers: the patch loses the race three times and lands the
// fourth, with no trace of the API server's conflict message.
func TestUpRetriesConflicts(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate", application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 0, 0, nil))
	authorize(h)
	var attempts atomic.Int32
	h.Fake.Dynamic.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		if attempts.Add(1) <= 3 {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "raw-vllm",
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		return false, nil, nil
	})
	golden(t, "up/conflicts", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "up", "raw-vllm", "--wait=false")...))
}

// A gate whose group the config turns off is refused before the cluster is
// contacted, saying why.
func TestUpRefusesAGateTheConfigTurnsOff(t *testing.T) {
	h := clitest.New(t, "kubectl-costgate")
	h.ClientErr = errNoCluster
	golden(t, "up/refused-disabled-group", h, h.Run(costgate.NewCmd, clitest.Args(t, "sandbox", "up", "llm-d")...))
}
