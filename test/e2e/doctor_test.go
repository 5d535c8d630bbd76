package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

var (
	externalSecretGVR     = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "externalsecrets"}
	clusterSecretStoreGVR = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "clustersecretstores"}
)

// esdocTree is teamTree under other names (env esdoc, project esdoc-edge,
// ApplicationSets esd-<layer>), whose base app deploys what a platform's apps
// deploy for External Secrets: a ClusterSecretStore and two ExternalSecrets.
func esdocTree(repoURL string) map[string]string {
	rename := strings.NewReplacer("clusters/team/", "clusters/esdoc/", "config/team.yaml", "config/esdoc.yaml", "team-edge", "esdoc-edge",
		"edge-", "esd-", "team-base", "esd-base", "team-batch", "esd-batch", "}}-apps", "}}-esdapps")
	files := map[string]string{}
	for path, content := range teamTree(repoURL) {
		files[rename.Replace(path)] = rename.Replace(content)
	}
	files["clusters/esdoc/workloads/esd-base/secrets.yaml"] = `apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: esdoc-store}
spec:
  provider:
    fake:
      data: []
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: api-key}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: esdoc-store}
  target: {name: api-key}
  data:
  - secretKey: api-key
    remoteRef: {key: esdoc-api-key}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db-creds}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: esdoc-store}
  target: {name: db-creds}
  data:
  - secretKey: user
    remoteRef: {key: esdoc-db, property: user}
  - secretKey: password
    remoteRef: {key: esdoc-db-password}
`
	return files
}

// doctorChecks runs kubectl smoke doctor -o json and returns its checks by name.
func doctorChecks(t *testing.T, s *sandbox.Sandbox, args ...string) map[string]map[string]any {
	t.Helper()
	r := s.Plugin(t, 2*time.Minute, "kubectl-smoke", append([]string{"doctor", "-o", "json"}, args...)...)
	var checks []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &checks); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, r)
	}
	out := map[string]map[string]any{}
	for _, c := range checks {
		out[c["name"].(string)] = c
	}
	return out
}

// setReady sets an object's Ready condition through the status subresource,
// as the External Secrets operator does.
func setReady(t *testing.T, s *sandbox.Sandbox, gvr schema.GroupVersionResource, namespace, name, status, reason, message string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []any{map[string]any{
		"type": "Ready", "status": status, "reason": reason, "message": message, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}}})
	res := s.Dynamic.Resource(gvr)
	var err error
	if namespace == "" {
		_, err = res.Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "e2e-eso"}, "status")
	} else {
		_, err = res.Namespace(namespace).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "e2e-eso"}, "status")
	}
	if err != nil {
		t.Fatalf("status of %s %s: %v", gvr.Resource, name, err)
	}
}

// On the real Argo CD, with External Secrets' real CRDs (not its operator:
// the test sets the status as the operator would): external-secrets passes
// when the store and every ExternalSecret of the profile's apps are Ready, and
// fails naming exactly the remote key one could not read; argocd-bootstrap
// passes on the sandbox and fails while the AppProject is missing.
func TestDoctorExternalSecretsAndBootstrap(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitToRepo("a tree with External Secrets", esdocTree(s.RepoURL)); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	profile := func(timeout time.Duration, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, "kubectl-profile", append(args, "--env", "esdoc", "--dir", clusters)...)
	}
	doctor := func() map[string]map[string]any {
		t.Helper()
		return doctorChecks(t, s, "--env", "esdoc", "--dir", clusters, "--profile", "core")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	appsets := s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace)
	projects := s.Dynamic.Resource(sandbox.AppProjectGVR).Namespace(sandbox.ArgoCDNamespace)
	t.Cleanup(func() {
		fg := metav1.DeletePropagationForeground
		_ = appsets.Delete(context.Background(), "esd-core", metav1.DeleteOptions{PropagationPolicy: &fg})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_ = s.WaitGone(ctx, sandbox.ApplicationSetGVR, sandbox.ArgoCDNamespace, "esd-core")
	})

	if r := s.Plugin(t, time.Minute, "kubectl-profile", "init", "--env", "esdoc", "--dir", clusters, "--config", filepath.Join(s.RepoDir, "config", "esdoc.yaml")); r.Code != 0 {
		t.Fatalf("init: %s", r)
	}
	// What the tree needs of Argo CD: init does not infer it.
	descriptor := filepath.Join(clusters, "esdoc", "platform.yaml")
	f, err := os.OpenFile(descriptor, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("argocd: {minVersion: v3.0.0}\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if r := profile(time.Minute, "apply", "core"); r.Code != 0 {
		t.Fatalf("apply core: %s", r)
	}
	// Argo CD syncs the app, and lists what it deployed in its status.
	_, err = s.WaitFor(ctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, "esd-base", func(u *unstructured.Unstructured) (bool, error) {
		resources, _, _ := unstructured.NestedSlice(u.Object, "status", "resources")
		n := 0
		for _, r := range resources {
			if m, _ := r.(map[string]any); m["kind"] == "ExternalSecret" || m["kind"] == "ClusterSecretStore" {
				n++
			}
		}
		return n == 3, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// status.resources lists them before the sync creates them: wait for each.
	exists := func(*unstructured.Unstructured) (bool, error) { return true, nil }
	for _, o := range []struct {
		gvr      schema.GroupVersionResource
		ns, name string
	}{{clusterSecretStoreGVR, "", "esdoc-store"}, {externalSecretGVR, "esd-base", "api-key"}, {externalSecretGVR, "esd-base", "db-creds"}} {
		if _, err := s.WaitFor(ctx, o.gvr, o.ns, o.name, exists); err != nil {
			t.Fatal(err)
		}
	}
	setReady(t, s, clusterSecretStoreGVR, "", "esdoc-store", "True", "Valid", "store validated")
	setReady(t, s, externalSecretGVR, "esd-base", "api-key", "True", "SecretSynced", "secret synced")
	setReady(t, s, externalSecretGVR, "esd-base", "db-creds", "True", "SecretSynced", "secret synced")

	checks := doctor()
	if c := checks["external-secrets"]; c["status"] != "PASS" || c["message"] != "ClusterSecretStore esdoc-store Ready; all 2 ExternalSecrets of core's apps synced" {
		t.Errorf("all Ready: %v", c)
	}
	if c := checks["argocd-bootstrap"]; c["status"] != "PASS" || !strings.Contains(c["message"].(string), "Argo CD v3.6.1 (label app.kubernetes.io/version of ConfigMap argocd/argocd-cm) is at least v3.0.0") ||
		!strings.Contains(c["message"].(string), "AppProject esdoc-edge exists") {
		t.Errorf("argocd-bootstrap on the sandbox: %v", c)
	}

	setReady(t, s, externalSecretGVR, "esd-base", "db-creds", "False", "SecretSyncedError",
		"could not get secret data from provider: error processing spec.data[0] (key: esdoc-db), err: Secret does not exist")
	c := doctor()["external-secrets"]
	msg, _ := c["message"].(string)
	want := "1 of 2 ExternalSecrets of core's apps not Ready\nesd-base/db-creds (app esd-base): cannot read remote key esdoc-db (property user): Ready=False SecretSyncedError"
	if c["status"] != "FAIL" || msg != want || !strings.Contains(c["fix"].(string), "kubectl profile secrets --env esdoc -o script") {
		t.Errorf("one not Ready: %v\nwant message %q", c, want)
	}

	// No AppProject: the first apply could not work.
	project, err := projects.Get(ctx, "esdoc-edge", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := projects.Delete(ctx, "esdoc-edge", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitGone(ctx, sandbox.AppProjectGVR, sandbox.ArgoCDNamespace, "esdoc-edge"); err != nil {
		t.Fatal(err)
	}
	c = doctor()["argocd-bootstrap"]
	restore := project.DeepCopy()
	restore.SetResourceVersion("")
	restore.SetUID("")
	restore.SetManagedFields(nil)
	restore.SetCreationTimestamp(metav1.Time{})
	if _, err := projects.Create(context.Background(), restore, metav1.CreateOptions{FieldManager: "e2e-restore"}); err != nil {
		t.Fatalf("restoring AppProject esdoc-edge: %v", err)
	}
	if c["status"] != "FAIL" || !strings.Contains(c["message"].(string), "AppProject esdoc-edge (platform.yaml project:) does not exist in argocd") {
		t.Errorf("AppProject missing: %v", c)
	}
	if c := doctor()["argocd-bootstrap"]; c["status"] != "PASS" {
		t.Errorf("AppProject restored: %v", c)
	}
}
