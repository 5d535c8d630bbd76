package costgate

import (
	"testing"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// now is the fake clock of these tests.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func sandbox(t *testing.T) *platform.Env {
	t.Helper()
	env, err := platform.Load("../../clusters", "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func gate(t *testing.T, env *platform.Env, name string) platform.App {
	t.Helper()
	app, err := Find(env, name)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// withAnnotation returns app with one more catalog annotation.
func withAnnotation(app platform.App, key, value string) platform.App {
	m := runtime.DeepCopyJSON(app.Manifest)
	_ = unstructured.SetNestedField(m, value, "metadata", "annotations", key)
	app.Manifest = m
	return app
}

func liveDeployment(ns, name string, replicas, ready int64, annotations map[string]string) *unstructured.Unstructured {
	d := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": name}},
		},
		"status": map[string]any{"readyReplicas": ready},
	}}
	if annotations != nil {
		d.SetAnnotations(annotations)
	}
	return d
}

func inferenceService(ns, name string, stopped, ready bool) *unstructured.Unstructured {
	status := "False"
	if ready {
		status = "True"
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": status}}},
	}}
	if stopped {
		u.SetAnnotations(map[string]string{StopAnnotation: "true"})
	}
	return u
}

func pod(ns, name, app string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app.kubernetes.io/name": app}},
		"spec":     map[string]any{"nodeName": "gpu-1"},
		"status":   map[string]any{"phase": "Running"},
	}}
}

// authorize answers every SelfSubjectAccessReview: allowed, except the
// permissions named in deny ("patch deployments.apps in serving").
func authorize(f *kubetest.Fake, deny ...string) {
	f.Typed.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview).DeepCopy()
		ra := review.Spec.ResourceAttributes
		p := Permission{Request: access.Request{Verb: ra.Verb, Group: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource, Namespace: ra.Namespace}}
		review.Status.Allowed = true
		for _, d := range deny {
			if d == p.String() {
				review.Status.Allowed = false
			}
		}
		return true, review, nil
	})
}

func gates(f *kubetest.Fake) *Gates {
	return &Gates{Backend: &KubeBackend{Client: f.Client, Namespace: "argocd"}, Namespace: "argocd", Now: func() time.Time { return now }}
}

func reviewAttributes(o runtime.Object) *authv1.ResourceAttributes {
	return o.(*authv1.SelfSubjectAccessReview).Spec.ResourceAttributes
}

// application is a live Application with a sync and health status; finishedAt,
// when set, is its last operation's end.
func application(name, sync, health string, annotations map[string]string, finishedAt string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": "argocd"},
		"status": map[string]any{
			"sync":   map[string]any{"status": sync},
			"health": map[string]any{"status": health},
		},
	}}
	if annotations != nil {
		u.SetAnnotations(annotations)
	}
	if finishedAt != "" {
		_ = unstructured.SetNestedMap(u.Object, map[string]any{"phase": "Succeeded", "startedAt": finishedAt, "finishedAt": finishedAt}, "status", "operationState")
	}
	return u
}
