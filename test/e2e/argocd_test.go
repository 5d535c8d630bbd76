package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// helloApp returns an Application that deploys test/e2e/testdata/hello from the
// sandbox's local git repository into namespace.
func helloApp(s *sandbox.Sandbox, name, namespace string, automated bool) *unstructured.Unstructured {
	syncPolicy := map[string]any{"syncOptions": []any{"ServerSideApply=true"}}
	if automated {
		syncPolicy["automated"] = map[string]any{"prune": true, "selfHeal": true}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Application",
		"metadata":   map[string]any{"name": name, "namespace": sandbox.ArgoCDNamespace},
		"spec": map[string]any{
			"project": "default",
			"source": map[string]any{
				"repoURL":        s.RepoURL,
				"targetRevision": "HEAD",
				"path":           "test/e2e/testdata/hello",
			},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": namespace},
			"syncPolicy":  syncPolicy,
		},
	}}
}

func createApp(t *testing.T, s *sandbox.Sandbox, app *unstructured.Unstructured) {
	t.Helper()
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	if _, err := apps.Create(context.Background(), app, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Application %s: %v", app.GetName(), err)
	}
	t.Cleanup(func() { _ = apps.Delete(context.Background(), app.GetName(), metav1.DeleteOptions{}) })
}

func syncedHealthy(app *unstructured.Unstructured) (bool, error) {
	st := argocd.StatusOf(app)
	syncStatus, health := st.Sync, st.Health
	return syncStatus == "Synced" && health == "Healthy", nil
}

func TestAutoSyncApplicationFromLocalRepo(t *testing.T) {
	s := sandbox.Need(t, sb)
	t.Parallel()
	ns := s.Namespace(t)
	name := sandbox.Name(t, "auto")
	createApp(t, s, helloApp(s, name, ns, true))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app, err := s.WaitFor(ctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, name, syncedHealthy)
	if err != nil {
		t.Fatal(err)
	}
	// The controller really deployed it: the Deployment runs on a kwok node.
	dep, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Argo CD reported %s Synced but the Deployment is missing: %v", name, err)
	}
	if dep.Status.ReadyReplicas != 1 {
		t.Errorf("Deployment hello: %d ready replicas, want 1", dep.Status.ReadyReplicas)
	}
	rev, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision")
	if len(rev) != 40 {
		t.Errorf("status.sync.revision = %q, want the local repository's commit", rev)
	}
}

func TestManualSyncApplicationByOperationPatch(t *testing.T) {
	s := sandbox.Need(t, sb)
	t.Parallel()
	ns := s.Namespace(t)
	name := sandbox.Name(t, "manual")
	createApp(t, s, helloApp(s, name, ns, false))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Manual sync policy: the controller compares but deploys nothing.
	if _, err := s.WaitFor(ctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, name, func(app *unstructured.Unstructured) (bool, error) {
		st := argocd.StatusOf(app)
		syncStatus := st.Sync
		return syncStatus == "OutOfSync", nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, "hello", metav1.GetOptions{}); err == nil {
		t.Fatal("a manual-sync Application deployed before anyone asked")
	}

	// What `argocd --core app sync` does: set .operation and clear the last result.
	patch := `{"operation":{"initiatedBy":{"username":"e2e"},"sync":{"revision":"HEAD","syncOptions":["ServerSideApply=true"]}},"status":{"operationState":null}}`
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	if _, err := apps.Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "e2e"}); err != nil {
		t.Fatalf("patching .operation: %v", err)
	}
	app, err := s.WaitFor(ctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, name, func(app *unstructured.Unstructured) (bool, error) {
		st := argocd.StatusOf(app)
		syncStatus, health, phase := st.Sync, st.Health, st.OperationPhase
		return phase == "Succeeded" && syncStatus == "Synced" && health == "Healthy", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if by, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "operation", "initiatedBy", "username"); by != "e2e" {
		t.Errorf("operationState.operation.initiatedBy.username = %q, want e2e", by)
	}
	if _, found, _ := unstructured.NestedMap(app.Object, "operation"); found {
		t.Error(".operation is still set after the sync finished")
	}
}
