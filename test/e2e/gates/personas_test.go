package gates

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// personaGroups maps the groups deploy/rbac binds to the ServiceAccount that
// stands for each persona here (the shipped bindings name groups; a team edits
// the subjects, as this test does).
var personaGroups = map[string]string{"aidev:viewers": "viewer", "aidev:oncall": "oncall", "aidev:platform-admins": "admin"}

const personaNamespace = "aidev-personas"

// gatedState is every resourceVersion a refused command could change: what
// profile writes in Argo CD's namespace, the gates' Deployments and
// InferenceServices, and the Applications' requested operations (their
// resourceVersions move with every reconciliation, so those are compared by
// .operation and annotations).
func gatedState(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	ctx := context.Background()
	parts := []string{s.ProfileState(t)}
	for _, w := range []struct {
		gvr schema.GroupVersionResource
		ns  string
	}{
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "serving"},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "coding-assistant"},
		{isvcGVR, "kserve"},
	} {
		l, err := s.Dynamic.Resource(w.gvr).Namespace(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		if l != nil {
			for _, i := range l.Items {
				parts = append(parts, w.gvr.Resource+"/"+w.ns+"/"+i.GetName()+"@"+i.GetResourceVersion())
			}
		}
	}
	apps, err := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps.Items {
		_, op := a.Object["operation"]
		parts = append(parts, fmt.Sprintf("application/%s operation=%v annotations=%v", a.GetName(), op, a.GetAnnotations()))
	}
	return strings.Join(parts, "\n")
}

// installPersonas applies deploy/rbac with a ServiceAccount added to each
// binding's groups, and returns a kubeconfig per persona holding only that
// ServiceAccount's token.
func installPersonas(t *testing.T, s *sandbox.Sandbox) map[string]string {
	t.Helper()
	ctx := context.Background()
	for _, ns := range []string{personaNamespace, "serving", "coding-assistant", "kserve", "kserve-demo", "inference-demo", "n8n"} {
		_, err := s.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("kubectl", "kustomize", filepath.Join(s.ProjectDir, "deploy", "rbac")).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/rbac: %v", err)
	}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var obj map[string]any
		if err := sigyaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: obj}
		if subjects, ok := obj["subjects"].([]any); ok {
			for _, sub := range subjects {
				if sa, ok := personaGroups[sub.(map[string]any)["name"].(string)]; ok {
					subjects = append(subjects, map[string]any{"kind": "ServiceAccount", "name": sa, "namespace": personaNamespace})
				}
			}
			obj["subjects"] = subjects
		}
		resource := map[string]string{"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings", "RoleBinding": "rolebindings"}[u.GetKind()]
		res := s.Dynamic.Resource(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: resource})
		var err error
		if u.GetNamespace() != "" {
			_, err = res.Namespace(u.GetNamespace()).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "e2e", Force: true})
		} else {
			_, err = res.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "e2e", Force: true})
		}
		if err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	// The sandbox gates a kind of its own (batch-embedder's Model): the shipped
	// roles know the platform's kinds, a team adds its own, as here, for list.
	for _, doc := range []string{`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"sandbox-models-reader"},
		"rules":[{"apiGroups":["sandbox.aidev.io"],"resources":["models"],"verbs":["get","list","watch"]}]}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"sandbox-models-reader"},
		"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"sandbox-models-reader"},
		"subjects":[{"kind":"ServiceAccount","name":"viewer","namespace":"aidev-personas"},{"kind":"ServiceAccount","name":"oncall","namespace":"aidev-personas"},
		{"kind":"ServiceAccount","name":"admin","namespace":"aidev-personas"}]}`} {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		resource := map[string]string{"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}[u.GetKind()]
		if _, err := s.Dynamic.Resource(schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: resource}).
			Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "e2e", Force: true}); err != nil {
			t.Fatalf("applying %s: %v", u.GetName(), err)
		}
	}
	configs := map[string]string{}
	for _, sa := range personaGroups {
		_, err := s.Kube.CoreV1().ServiceAccounts(personaNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		configs[sa] = s.TokenKubeconfig(t, personaNamespace, sa)
	}
	return configs
}

// Each persona's shipped role, bound to its own ServiceAccount token: what it
// should run succeeds; what it should not fails at once naming the missing
// permission, and writes nothing.
func TestPersonasLeastPrivilege(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	envArgs := []string{"--env", "sandbox", "--dir", clusters}
	admin := func(timeout time.Duration, plugin string, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, plugin, append(args, envArgs...)...)
	}
	if r := admin(time.Minute, "kubectl-profile", "apply", "full"); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := admin(6*time.Minute, "kubectl-profile", "wait", "full", "--timeout", "5m"); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}
	for _, app := range []string{"raw-vllm", "kserve-demo"} {
		if r := admin(3*time.Minute, "kubectl-costgate", "sync", app); r.Code != 0 {
			t.Fatalf("sync %s: %s", app, r)
		}
	}
	configs := installPersonas(t, s)
	as := func(persona string, timeout time.Duration, plugin string, args ...string) sandbox.Result {
		t.Helper()
		env := append([]string{"KUBECONFIG=" + configs[persona]}, os.Environ()...)
		return sandbox.RunPlugin(t, timeout, env, plugin, append(args, envArgs...)...)
	}
	allowed := func(persona, plugin string, args ...string) {
		t.Helper()
		if r := as(persona, 4*time.Minute, plugin, args...); r.Code != 0 {
			t.Errorf("%s may run %s %s, but: %s", persona, plugin, strings.Join(args, " "), r)
		}
	}
	refused := func(persona, want, plugin string, args ...string) {
		t.Helper()
		before := gatedState(t, s)
		start := time.Now()
		r := as(persona, time.Minute, plugin, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("%s must not run %s %s: want a non-zero exit naming %q:\n%s", persona, plugin, strings.Join(args, " "), want, r)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("%s %s took %s to be refused", plugin, strings.Join(args, " "), took)
		}
		if after := gatedState(t, s); after != before {
			t.Errorf("refused %s %s changed the cluster:\nbefore:\n%s\nafter:\n%s", plugin, strings.Join(args, " "), before, after)
		}
	}

	t.Run("viewer", func(t *testing.T) {
		allowed("viewer", "kubectl-profile", "status")
		allowed("viewer", "kubectl-profile", "wait", "full", "--timeout", "3m")
		allowed("viewer", "kubectl-costgate", "list")
		allowed("viewer", "kubectl-smoke", "doctor", "--profile", "full")
		refused("viewer", "forbidden", "kubectl-profile", "apply", "full")
		refused("viewer", "patch deployments/scale.apps in serving", "kubectl-costgate", "up", "raw-vllm")
		refused("viewer", "forbidden", "kubectl-costgate", "sync", "inference-demo")
		refused("viewer", "delete deployments.apps in inference-demo", "kubectl-costgate", "down", "inference-demo")
	})
	t.Run("on-call operator", func(t *testing.T) {
		allowed("oncall", "kubectl-costgate", "list")
		allowed("oncall", "kubectl-costgate", "up", "raw-vllm")
		allowed("oncall", "kubectl-costgate", "down", "raw-vllm")
		allowed("oncall", "kubectl-costgate", "resume", "kserve-demo")
		allowed("oncall", "kubectl-costgate", "pause", "kserve-demo")
		allowed("oncall", "kubectl-costgate", "sync", "inference-demo")
		allowed("oncall", "kubectl-costgate", "down", "inference-demo") // a sync gate: deletes what it deployed
		refused("oncall", "forbidden", "kubectl-profile", "apply", "full")
	})
	t.Run("platform admin", func(t *testing.T) {
		allowed("admin", "kubectl-profile", "apply", "full")
		allowed("admin", "kubectl-profile", "status")
		refused("admin", "patch deployments/scale.apps in serving", "kubectl-costgate", "up", "raw-vllm")
	})
}
