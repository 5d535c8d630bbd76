package costgate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Live objects are built from the sandbox catalog, as Argo CD would hold them:
// the Applications as written (in namespace argocd) with a status, and the
// targets their workloads deploy.

func sandboxApp(t *testing.T, name string) platform.App {
	t.Helper()
	env, err := platform.Load(clitest.Clusters(t), "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range env.Apps {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no app %s in the sandbox", name)
	return platform.App{}
}

// application is a gated Application as the catalog writes it, with a sync
// and health status, changed by edits.
func application(t *testing.T, name, sync, health string, edits ...func(*unstructured.Unstructured)) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(sandboxApp(t, name).Manifest)}
	u.SetNamespace("argocd")
	u.Object["status"] = map[string]any{
		"sync":         map[string]any{"status": sync, "revision": "4f1c2d3e4b5a69788796a5b4c3d2e1f001122334"},
		"health":       map[string]any{"status": health},
		"reconciledAt": "2026-11-26T11:00:00Z",
	}
	for _, e := range edits {
		e(u)
	}
	return u
}

// lastSync gives an Application a finished operation.
func lastSync(finishedAt string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		_ = unstructured.SetNestedMap(u.Object, map[string]any{"phase": "Succeeded", "startedAt": finishedAt, "finishedAt": finishedAt}, "status", "operationState")
	}
}

func annotated(key, value string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		ann := u.GetAnnotations()
		ann[key] = value
		u.SetAnnotations(ann)
	}
}

func deployment(ns, name string, replicas, ready int64, annotations map[string]string) *unstructured.Unstructured {
	d := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app.kubernetes.io/name": name}},
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

func inferenceService(stopped, ready bool) *unstructured.Unstructured {
	status := "False"
	if ready {
		status = "True"
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": "qwen-cpu", "namespace": "kserve"},
		"status":   map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": status}}},
	}}
	if stopped {
		u.SetAnnotations(map[string]string{pcostgate.StopAnnotation: "true"})
	}
	return u
}

// pod is one of a Deployment's pods, in the state status describes.
func pod(ns, name, app string, status map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app.kubernetes.io/name": app}},
		"spec":     map[string]any{"nodeName": "gpu-node-1"},
		"status":   status,
	}}
}

var (
	podUnschedulable = map[string]any{"phase": "Pending", "conditions": []any{map[string]any{
		"type": "PodScheduled", "status": "False", "message": "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match Pod's node affinity/selector.",
	}}}
	podPulling = map[string]any{"phase": "Pending", "containerStatuses": []any{map[string]any{
		"name": "raw-vllm", "state": map[string]any{"waiting": map[string]any{"reason": "ContainerCreating"}},
	}}}
	podStarting = map[string]any{"phase": "Running", "containerStatuses": []any{map[string]any{
		"name": "raw-vllm", "state": map[string]any{"running": map[string]any{}},
	}}}
)

// store writes an object as a controller or the kubelet would (kubetest's Store).
func store(t *testing.T, h *clitest.Harness, k kube.Kind, u *unstructured.Unstructured) {
	t.Helper()
	if err := h.Fake.Store(k, u); err != nil {
		t.Error(err)
	}
}

// authorize answers every SelfSubjectAccessReview: allowed, except the
// permissions named in deny ("patch deployments.apps in serving").
func authorize(h *clitest.Harness, deny ...string) { authorizeOn(h.Fake, deny...) }

// authorizeOn is authorize on one fake cluster of several.
func authorizeOn(fake *kubetest.Fake, deny ...string) {
	fake.Typed.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview).DeepCopy()
		ra := review.Spec.ResourceAttributes
		p := pcostgate.Permission{Request: access.Request{Verb: ra.Verb, Group: ra.Group, Resource: ra.Resource, Namespace: ra.Namespace}}
		review.Status.Allowed = true
		for _, d := range deny {
			if d == p.String() {
				review.Status.Allowed = false
			}
		}
		return true, review, nil
	})
}

// controllerManager is the field manager of the simulated application-controller.
const controllerManager = "argocd-application-controller"

// simulateArgoCD answers a sync request the way the application-controller
// does, in the background: it deploys the objects, ends the operation (with the
// pre-sync status and a reconciledAt in the same second, which proves
// nothing), and answers the refresh request with the fresh status.
func simulateArgoCD(t *testing.T, h *clitest.Harness, deploys ...*unstructured.Unstructured) {
	var end time.Time
	write := func(name string, patch map[string]any) {
		b, _ := json.Marshal(patch)
		_, err := h.Fake.Client.Resource(kube.Applications, "argocd").Patch(context.Background(), name, types.MergePatchType, b, metav1.PatchOptions{FieldManager: controllerManager})
		if err != nil {
			t.Error(err)
		}
	}
	h.Fake.Dynamic.PrependReactor("patch", "applications", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		body, name := string(p.GetPatch()), p.GetName()
		switch {
		case p.PatchOptions.FieldManager == controllerManager:
		case strings.Contains(body, `"operation":`):
			end = time.Now().UTC().Truncate(time.Second)
			stamp := end.Format(time.RFC3339)
			go func() {
				var resources []any
				for _, d := range deploys {
					store(t, h, kube.Deployments, d)
					resources = append(resources, map[string]any{"kind": d.GetKind(), "namespace": d.GetNamespace(), "name": d.GetName(), "status": "Synced", "message": "deployment.apps/" + d.GetName() + " created"})
				}
				write(name, map[string]any{"operation": nil, "status": map[string]any{"reconciledAt": stamp, "operationState": map[string]any{
					"phase": "Succeeded", "message": "successfully synced (all tasks run)", "startedAt": stamp, "finishedAt": stamp,
					"syncResult": map[string]any{"revision": "4f1c2d3e4b5a69788796a5b4c3d2e1f001122334", "resources": resources},
				}}})
			}()
		case strings.Contains(body, "argocd.argoproj.io/refresh"):
			go write(name, map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"argocd.argoproj.io/refresh": nil}},
				"status": map[string]any{
					"sync": map[string]any{"status": "Synced"}, "health": map[string]any{"status": "Healthy"},
					"reconciledAt": end.Format(time.RFC3339),
				},
			})
		}
		return false, nil, nil
	})
}

// writes renders the command's writes (not the simulated controller's, nor the
// access reviews), for golden files.
func writes(h *clitest.Harness) string {
	var b strings.Builder
	for _, a := range append(h.Fake.Dynamic.Actions(), h.Fake.Typed.Actions()...) {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
		default:
			continue
		}
		if p, ok := a.(k8stesting.PatchActionImpl); (ok && p.PatchOptions.FieldManager == controllerManager) || a.GetResource().Resource == "selfsubjectaccessreviews" {
			continue
		}
		b.WriteString(kubetest.Describe(a))
	}
	return b.String()
}

// script is a stderr that moves the fake cluster on when the command has
// said a line containing the next step's text: the kubelet starts the pod
// once up has reported it Pending, and so on. The command's lines are then
// the same at every run, whatever the scheduling.
type script struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	steps []step
}

type step struct {
	when string
	do   func()
}

func (s *script) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	var run []func()
	for len(s.steps) > 0 && strings.Contains(string(p), s.steps[0].when) {
		run = append(run, s.steps[0].do)
		s.steps = s.steps[1:]
	}
	s.mu.Unlock()
	for _, do := range run {
		do()
	}
	return len(p), nil
}

// run runs kubectl costgate with stderr going through a script.
func run(h *clitest.Harness, s *script, args ...string) clitest.Result {
	h.T.Helper()
	var out bytes.Buffer
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: s}
	code := cli.Execute(h.Ctx, costgate.NewCmd(h.Factory(streams)), streams, args)
	s.mu.Lock()
	defer s.mu.Unlock()
	return clitest.Result{Code: code, Stdout: out.String(), Stderr: s.buf.String()}
}

// golden compares a run's output and the command's writes with a golden file.
func golden(t *testing.T, name string, h *clitest.Harness, r clitest.Result) {
	t.Helper()
	clitest.Golden(t, name, clitest.Normalize(r.String()+"--- writes\n"+writes(h), clitest.Clusters(t), "<clusters>"))
}

// mustJSON decodes a request body with whole numbers as int64, as the API server does.
func mustJSON(b []byte) map[string]any {
	var m map[string]any
	if err := utiljson.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// errNoCluster is what building a client fails with when no cluster is reachable.
var errNoCluster = errors.New(`cannot reach the cluster at https://10.0.0.1:6443 (context "kind-sandbox"): connection refused`)
