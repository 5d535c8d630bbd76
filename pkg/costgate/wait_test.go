package costgate

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// store writes an object as a controller or the kubelet would (kubetest's Store).
func store(t *testing.T, f *kubetest.Fake, k kube.Kind, u *unstructured.Unstructured) {
	t.Helper()
	if err := f.Store(k, u); err != nil {
		t.Fatal(err)
	}
}

func withStatus(u *unstructured.Unstructured, status map[string]any) *unstructured.Unstructured {
	u.Object["status"] = status
	return u
}

// The wait says what it waits on each time that changes; each step of the
// fake kubelet happens once the wait has said the previous one, so the lines
// are always the same.
func TestWaitOpenReportsEachStepUntilReady(t *testing.T) {
	app := gate(t, sandbox(t), "raw-vllm")
	p := pod("serving", "raw-vllm-7d9f-x2", "raw-vllm")
	f := kubetest.NewClient(liveDeployment("serving", "raw-vllm", 1, 0, nil), withStatus(p.DeepCopy(), map[string]any{
		"phase":      "Pending",
		"conditions": []any{map[string]any{"type": "PodScheduled", "status": "False", "message": "0/2 nodes are available: 1 Insufficient nvidia.com/gpu."}},
	}))
	steps := []func(){
		func() {
			store(t, f, kube.Pods, withStatus(p.DeepCopy(), map[string]any{"phase": "Pending", "containerStatuses": []any{
				map[string]any{"name": "raw-vllm", "state": map[string]any{"waiting": map[string]any{"reason": "ErrImagePull", "message": "pull access denied"}}}}}))
		},
		func() {
			store(t, f, kube.Pods, withStatus(p.DeepCopy(), map[string]any{"phase": "Running", "containerStatuses": []any{
				map[string]any{"name": "raw-vllm", "state": map[string]any{"running": map[string]any{}}}}}))
		},
		func() { store(t, f, kube.Deployments, liveDeployment("serving", "raw-vllm", 1, 1, nil)) },
	}
	var said []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := gates(f).WaitOpen(ctx, app, func(msg string) {
		said = append(said, msg)
		if len(said) <= len(steps) {
			steps[len(said)-1]()
		}
	})
	want := []string{
		"0/1 ready; raw-vllm-7d9f-x2: Pending: 0/2 nodes are available: 1 Insufficient nvidia.com/gpu.",
		"0/1 ready; raw-vllm-7d9f-x2: ErrImagePull: pull access denied",
		"0/1 ready; raw-vllm-7d9f-x2: Running, not Ready yet (on gpu-1)",
		"1/1 ready",
	}
	if err != nil || strings.Join(said, "\n") != strings.Join(want, "\n") {
		t.Errorf("err %v, said:\n%s\nwant:\n%s", err, strings.Join(said, "\n"), strings.Join(want, "\n"))
	}
}

// Someone else closing (or opening) the gate ends the wait at once: "0/0
// ready" would never come true.
func TestWaitEndsWhenSomeoneElseChangesTheGate(t *testing.T) {
	env := sandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		app  string
		live *unstructured.Unstructured
		open bool
		want string
	}{
		{"raw-vllm", liveDeployment("serving", "raw-vllm", 0, 0, nil), true, "raw-vllm was closed by someone else while waiting (replicas 0)"},
		{"raw-vllm", liveDeployment("serving", "raw-vllm", 2, 0, nil), false, "raw-vllm was opened by someone else while waiting for its pods to go (replicas 2)"},
		{"kserve-demo", inferenceService("kserve", "qwen-cpu", true, false), true, "kserve-demo was paused by someone else while waiting (serving.kserve.io/stop=true)"},
		{"kserve-demo", inferenceService("kserve", "qwen-cpu", false, true), false, "kserve-demo was resumed by someone else while waiting for its pods to go"},
	} {
		g := gates(kubetest.NewClient(tc.live))
		wait := g.WaitClosed
		if tc.open {
			wait = g.WaitOpen
		}
		if err := wait(ctx, gate(t, env, tc.app), nil); err == nil || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

func TestWaitClosedAndPausedAndTheTimeout(t *testing.T) {
	env := sandbox(t)
	rawVLLM, kserveDemo := gate(t, env, "raw-vllm"), gate(t, env, "kserve-demo")
	p := pod("serving", "raw-vllm-7d9f-x2", "raw-vllm")
	f := kubetest.NewClient(liveDeployment("serving", "raw-vllm", 0, 0, nil), p,
		inferenceService("kserve", "qwen-cpu", false, true))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var said []string
	err := gates(f).WaitClosed(ctx, rawVLLM, func(msg string) {
		said = append(said, msg)
		if len(said) == 1 {
			if err := f.Dynamic.Tracker().Delete(kube.Pods.GVR, "serving", p.GetName()); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil || strings.Join(said, "\n") != "waiting for 1 pod(s) to go: raw-vllm-7d9f-x2\nno pods left" {
		t.Errorf("closed: %v %q", err, said)
	}
	said = nil
	if err := gates(f).WaitOpen(ctx, kserveDemo, func(msg string) { said = append(said, msg) }); err != nil || strings.Join(said, "\n") != "InferenceService Ready" {
		t.Errorf("resumed: %v %q", err, said)
	}

	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f = kubetest.NewClient(liveDeployment("serving", "raw-vllm", 1, 0, nil))
	err = gates(f).WaitOpen(short, rawVLLM, nil)
	if err == nil || err.Error() != "raw-vllm: context deadline exceeded (last: 0/1 ready)" {
		t.Errorf("timeout: %v", err)
	}
	short, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err = gates(kubetest.NewClient()).WaitOpen(short, rawVLLM, nil)
	if err == nil || err.Error() != "raw-vllm: context deadline exceeded (last: Deployment/serving/raw-vllm does not exist yet)" {
		t.Errorf("no Deployment: %v", err)
	}
}

func TestPodProblem(t *testing.T) {
	deleted := metav1.Now()
	for _, tc := range []struct {
		pod  corev1.Pod
		want string
	}{
		{corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted}}, "terminating"},
		{corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}}, "ContainerCreating"},
		{corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled"}}}}}}, "terminated: OOMKilled"},
		{corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}, ""},
		{corev1.Pod{}, "Pending: not scheduled yet"},
	} {
		if got := PodProblem(tc.pod); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
