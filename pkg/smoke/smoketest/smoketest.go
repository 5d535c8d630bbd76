// Package smoketest builds the clusters and servers the smoke tests run
// against: the objects every doctor check reads, access reviews answered by a
// rule, and an OpenAI-compatible server that wants the sandbox's key.
package smoketest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// APIKey is the chat key the sandbox's Secret holds: 48 characters, like the
// sandbox's real one, so the leak tests search every 12-character piece of it.
const APIKey = "sk-smoke-test-0123456789abcdefghijklmnopqrstuvwx"

// Sandbox loads the sandbox environment from a clusters folder.
func Sandbox(t testing.TB, clustersDir string) *platform.Env {
	t.Helper()
	env, err := platform.Load(clustersDir, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// Profile resolves a profile of env.
func Profile(t testing.TB, env *platform.Env, name string) platform.Profile {
	t.Helper()
	p, err := env.Profile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ArgoCRDs are Argo CD's CRDs as the metadata client reads them.
func ArgoCRDs() []runtime.Object {
	var out []runtime.Object
	for _, name := range []string{"applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io"} {
		out = append(out, &metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
			ObjectMeta: metav1.ObjectMeta{Name: name},
		})
	}
	return out
}

// Namespace is a namespace object.
func Namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// ControllerPod is Argo CD's application-controller pod in argocd.
func ControllerPod(phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-application-controller-0", Namespace: "argocd",
			Labels: map[string]string{"app.kubernetes.io/name": "argocd-application-controller"}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

// ProfileObjects are the AppProject and one ApplicationSet per layer of p, as
// profile apply leaves them.
func ProfileObjects(env *platform.Env, p platform.Profile) []runtime.Object {
	out := []runtime.Object{&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": env.Descriptor.Project, "namespace": "argocd"},
	}}}
	for _, l := range p.Layers {
		name, err := env.AppSetName(l)
		if err != nil {
			panic(err) // the committed environments render
		}
		out = append(out, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
			"metadata": map[string]any{"name": name, "namespace": "argocd", "labels": map[string]any{platform.LayerLabel: l}},
			"spec":     map[string]any{"generators": []any{map[string]any{"git": map[string]any{"repoURL": env.Config.RepoURL}}}},
			"status": map[string]any{"conditions": []any{map[string]any{"type": "ParametersGenerated", "status": "True",
				"message": "Successfully generated parameters for all Applications"}}},
		}})
	}
	return out
}

// AppState is an Application's sync and health, and how long before now it
// was reconciled.
type AppState struct {
	Sync, Health string
	Age          time.Duration
}

// Applications are the profile's expected Applications: auto-sync apps Synced
// and Healthy, gated ones OutOfSync and Missing (never synced), each reconciled
// a minute before now; override changes some.
func Applications(env *platform.Env, p platform.Profile, now time.Time, override map[string]AppState) []runtime.Object {
	apps, err := env.ExpectedApps(p)
	if err != nil {
		panic(err) // the committed environments render
	}
	var out []runtime.Object
	for _, a := range apps {
		st := AppState{"Synced", "Healthy", time.Minute}
		if a.Gated {
			st = AppState{"OutOfSync", "Missing", time.Minute}
		}
		if o, ok := override[a.Name]; ok {
			st = o
		}
		out = append(out, Application(a.Name, now, st))
	}
	return out
}

// Application is one Argo CD Application in argocd with a status.
func Application(name string, now time.Time, st AppState) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": "argocd"},
		"status": map[string]any{
			"sync":         map[string]any{"status": st.Sync},
			"health":       map[string]any{"status": st.Health},
			"reconciledAt": now.Add(-st.Age).Format(time.RFC3339),
		},
	}}
}

// GPUNode is a node with one nvidia.com/gpu.
func GPUNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "gpu-l4-1"},
		Status:     corev1.NodeStatus{Capacity: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}},
	}
}

// CPUNode is a node without GPUs.
func CPUNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "cpu-1"},
		Status:     corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}},
	}
}

// StorageClass is a StorageClass, annotated the default one or not.
func StorageClass(name string, isDefault bool) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "example.com/disk"}
	if isDefault {
		sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	}
	return sc
}

// LoadBalancer is a LoadBalancer Service, with an address unless address is empty.
func LoadBalancer(ns, name, address string) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	if address != "" {
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: address}}
	}
	return svc
}

// KeySecretMetadata is the chat key's Secret as the doctor reads it: metadata only.
func KeySecretMetadata() *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "vllm-api-key", Namespace: "serving"},
	}
}

// KeySecret is the chat key's Secret (serving/vllm-api-key:api-key) as the
// chat probe reads it, the key ending in a newline as files often do.
func KeySecret(key string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vllm-api-key", Namespace: "serving"},
		Data:       map[string][]byte{"api-key": []byte(key + "\n")},
	}
}

// ArgoServer is Argo CD's server Deployment as its Helm chart installs it,
// running the image of version.
func ArgoServer(version string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-server", Namespace: "argocd",
			Labels: map[string]string{"app.kubernetes.io/part-of": "argocd", "app.kubernetes.io/name": "argocd-server"}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "server", Image: "quay.io/argoproj/argocd:" + version}}}}},
	}
}

// ServingKeyApp is the app that deploys the chat key's ExternalSecret in Healthy.
const ServingKeyApp = "group-serving-core"

// ManagedBy adds objects to an Application's status.resources, as Argo CD
// lists what the app deployed.
func ManagedBy(app *unstructured.Unstructured, objs ...*unstructured.Unstructured) {
	resources, _, _ := unstructured.NestedSlice(app.Object, "status", "resources")
	for _, o := range objs {
		gv := o.GroupVersionKind()
		r := map[string]any{"group": gv.Group, "version": gv.Version, "kind": gv.Kind, "name": o.GetName(), "status": "Synced"}
		if o.GetNamespace() != "" {
			r["namespace"] = o.GetNamespace()
		}
		resources = append(resources, r)
	}
	_ = unstructured.SetNestedSlice(app.Object, resources, "status", "resources")
}

// ClusterSecretStore is External Secrets' store with a Ready condition.
func ClusterSecretStore(name, status, reason, message string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"provider": map[string]any{"gcpsm": map[string]any{"projectID": "aidev"}}},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": status, "reason": reason, "message": message}}},
	}}
}

// RemoteRef is one spec.data entry of an ExternalSecret: the Secret's key
// and the remote key (and property) it is read from.
type RemoteRef struct{ SecretKey, Key, Property string }

// ExternalSecret reads refs from ClusterSecretStore store, with a Ready
// condition (status "" leaves the status out, as before the operator's first sync).
func ExternalSecret(ns, name, store string, refs []RemoteRef, status, reason, message string) *unstructured.Unstructured {
	var data []any
	for _, r := range refs {
		ref := map[string]any{"key": r.Key}
		if r.Property != "" {
			ref["property"] = r.Property
		}
		data = append(data, map[string]any{"secretKey": r.SecretKey, "remoteRef": ref})
	}
	es := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{"secretStoreRef": map[string]any{"kind": "ClusterSecretStore", "name": store},
			"target": map[string]any{"name": name}, "data": data},
	}}
	if status != "" {
		es.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": status, "reason": reason, "message": message}}}
	}
	return es
}

// Healthy is a cluster where every doctor check of profile passes: Argo CD
// (its server at v3.6.1) with its controller, the profile applied and
// converged, a GPU node, a default StorageClass, a LoadBalancer with an
// address and the chat key's Secret, synced by a Ready ExternalSecret from the
// Ready ClusterSecretStore secret-store.
func Healthy(t testing.TB, env *platform.Env, profile string, now time.Time) []runtime.Object {
	p := Profile(t, env, profile)
	objs := ArgoCRDs()
	objs = append(objs, Namespace("argocd"), ControllerPod(corev1.PodRunning), ArgoServer("v3.6.1"))
	objs = append(objs, ProfileObjects(env, p)...)
	apps := Applications(env, p, now, nil)
	store := ClusterSecretStore("secret-store", "True", "Valid", "store validated")
	key := ExternalSecret("serving", "vllm-api-key", "secret-store", []RemoteRef{{SecretKey: "api-key", Key: "aidev-vllm-api-key"}}, "True", "SecretSynced", "secret synced")
	for _, a := range apps {
		if u := a.(*unstructured.Unstructured); u.GetName() == ServingKeyApp {
			ManagedBy(u, key)
			objs = append(objs, key)
		}
		if u := a.(*unstructured.Unstructured); u.GetName() == "group-platform-core" {
			ManagedBy(u, store)
			objs = append(objs, store)
		}
	}
	objs = append(objs, apps...)
	objs = append(objs, GPUNode(), StorageClass("standard", true), LoadBalancer("routing", "edge", "203.0.113.10"))
	return append(objs, KeySecretMetadata(), KeySecret(APIKey))
}

// Without drops the objects drop matches.
func Without(objs []runtime.Object, drop func(runtime.Object) bool) []runtime.Object {
	var out []runtime.Object
	for _, o := range objs {
		if !drop(o) {
			out = append(out, o)
		}
	}
	return out
}

// Allow answers every SelfSubjectAccessReview with allowed(attributes).
func Allow(f *kubetest.Fake, allowed func(authv1.ResourceAttributes) bool) {
	f.Typed.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview).DeepCopy()
		review.Status.Allowed = allowed(*review.Spec.ResourceAttributes)
		return true, review, nil
	})
}

// AllowAll allows every request.
func AllowAll(authv1.ResourceAttributes) bool { return true }

// DenyAll denies every request.
func DenyAll(authv1.ResourceAttributes) bool { return false }

// ChatServer is an OpenAI-compatible server that wants APIKey, answering
// /v1/models with one model and /v1/chat/completions with answer.
func ChatServer(t testing.TB, answer http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+APIKey {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"invalid key"}}`)
			return
		}
		switch r.URL.Path {
		case "/v1/models":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"object":"list","data":[{"id":"qwen2.5-0.5b","object":"model"}]}`)
		case "/v1/chat/completions":
			answer(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// Answers replies like vLLM: a completion, or the same as SSE chunks when the
// request streams.
func Answers(content string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, word := range strings.SplitAfter(content, " ") {
				chunk, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion.chunk", "model": req.Model,
					"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": word}}}})
				fmt.Fprintf(w, "data: %s\n\n", chunk)
			}
			usage, _ := json.Marshal(map[string]any{"id": "c", "object": "chat.completion.chunk", "model": req.Model, "choices": []any{},
				"usage": map[string]any{"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}})
			fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", usage)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(map[string]any{
			"id": "c", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
		})
		_, _ = w.Write(b)
	}
}

// Forward is a port-forward replacement that reaches s, as if the Service's
// Ready pod answered on it.
type Forward func(ctx context.Context, c *kube.Client, namespace, service string, port int32) (*kube.Forward, error)

// ForwardTo replaces the port-forward with a local server.
func ForwardTo(t testing.TB, s *httptest.Server) Forward {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	return func(_ context.Context, _ *kube.Client, namespace, service string, _ int32) (*kube.Forward, error) {
		return &kube.Forward{LocalPort: port, Pod: namespace + "/" + service + "-7d9f8-abcde", PodPort: 8000}, nil
	}
}
