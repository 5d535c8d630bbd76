package e2e

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

var deploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// A GPU workload: scaled from 0 to 1 it is scheduled onto the tainted GPU node and
// kwok makes its pod Running and Ready.
func TestGPUDeploymentScalesToReadyPodOnGPUNode(t *testing.T) {
	s := sandbox.Need(t, sb)
	t.Parallel()
	ns := s.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	labels := map[string]string{"app.kubernetes.io/name": "gpu-model"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu-model"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"nvidia.com/gpu.present": "true"},
					Tolerations:  []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers: []corev1.Container{{
						Name: "vllm", Image: "vllm/vllm-openai:v0.11.0",
						Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}},
					}},
				},
			},
		},
	}
	if _, err := s.Kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Kube.AppsV1().Deployments(ns).UpdateScale(ctx, "gpu-model", &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu-model", Namespace: ns},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 1},
	}, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("scaling to 1: %v", err)
	}

	// The Deployment counts a replica ready only once kwok reports its pod Ready.
	if _, err := s.WaitFor(ctx, deploymentGVR, ns, "gpu-model", func(u *unstructured.Unstructured) (bool, error) {
		ready, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		return ready == 1, nil
	}); err != nil {
		t.Fatal(err)
	}
	pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=gpu-model"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("want 1 pod after scaling to 1, got %d (%v)", len(pods.Items), err)
	}
	pod := pods.Items[0]
	if pod.Status.Phase != corev1.PodRunning {
		t.Errorf("pod %s is %s, want Running", pod.Name, pod.Status.Phase)
	}
	node := pod.Spec.NodeName
	n, err := s.Kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pod's node %q: %v", node, err)
	}
	if gpus := n.Status.Allocatable["nvidia.com/gpu"]; gpus.Value() < 1 {
		t.Errorf("pod landed on %s, which has no nvidia.com/gpu", node)
	}
}
