package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// The research lab's names: nothing else in the sandbox uses them.
const (
	labEnv       = "research-lab"
	labSet       = "lab-models"      // the layer's ApplicationSet
	labGroupApp  = "lab-embedding"   // what it generates for group embedding
	labIndexApp  = "embedding-index" // auto-sync
	labGate      = "embedder"        // the scale gate over a StatefulSet
	labNamespace = "research-models"
	labConfig    = "lab/settings.yaml" // outside clusters/, shared with other tools
)

// labTree is the held-back research environment of the issue, as the research
// team wrote it by hand: its own layer (models), ApplicationSet (lab-models,
// generating lab-<group>), group (embedding), AppProject (research-lab, in a
// folder of its own) and names; hand-written kustomizations; a groups file in
// the team's own formatting; its settings outside clusters/ with other tools'
// keys. Group embedding deploys the embedding model as a StatefulSet behind a
// scale gate (embedder, replicas 0 in git) and an auto-sync app beside it.
func labTree(repoURL string) map[string]string {
	return map[string]string{
		labConfig: `# Research lab settings. Also read by our notebook launcher and the eval runner.
owner: research
slack: "#research-lab"
notebooks:
  image: jupyter/minimal-notebook
repoURL: ` + repoURL + `
revision: HEAD
namespace: argocd
features:
  embedding: true
`,
		"clusters/research-lab/lab-groups.yaml": `# Research lab groups. Maintained by hand (see lab/README in the wiki).

- name: embedding
  layer: models
  catalogPath: clusters/research-lab/stacks/embedding
  enabled: "true"
`,
		"clusters/research-lab/project/kustomization.yaml": `resources:
  - research-lab.yaml
`,
		"clusters/research-lab/project/research-lab.yaml": `# The lab's own AppProject.
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: research-lab
  namespace: argocd
spec:
  description: research lab models
  sourceRepos:
    - '*'
  destinations:
    - server: https://kubernetes.default.svc
      namespace: '*'
  clusterResourceWhitelist:
    - group: '*'
      kind: '*'
`,
		"clusters/research-lab/sets/kustomization.yaml": `# kubectl apply -k clusters/research-lab/sets
resources:
  - lab-models.yaml
`,
		"clusters/research-lab/sets/lab-models.yaml": `apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: lab-models
  namespace: argocd
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
    - git:
        repoURL: ` + repoURL + `
        revision: HEAD
        files:
          - path: clusters/research-lab/lab-groups.yaml
      selector:
        matchLabels:
          layer: models
          enabled: "true"
  template:
    metadata:
      name: 'lab-{{.name}}'
      finalizers:
        - resources-finalizer.argocd.argoproj.io
    spec:
      project: research-lab
      source:
        repoURL: ` + repoURL + `
        targetRevision: HEAD
        path: '{{.catalogPath}}'
      destination:
        server: https://kubernetes.default.svc
        namespace: argocd
      syncPolicy:
        automated:
          prune: true
          selfHeal: true
`,
		"clusters/research-lab/stacks/embedding/kustomization.yaml": `resources:
  - embedder.yaml
  - embedding-index.yaml
`,
		"clusters/research-lab/stacks/embedding/embedder.yaml": `# The embedding model. It holds a node while it runs, so nobody syncs it
# by accident: kubectl costgate up embedder / down embedder.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: embedder
  annotations:
    costgate.aidev.io/gate: scale
    costgate.aidev.io/target: StatefulSet/research-models/embedder
    costgate.aidev.io/replicas: "1"
    costgate.aidev.io/cost-per-hour: "0.35"
    costgate.aidev.io/max-open: 4h
    costgate.aidev.io/reason: "embedding model for the lab's retrieval experiments"
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: research-lab
  source:
    repoURL: ` + repoURL + `
    targetRevision: HEAD
    path: clusters/research-lab/deploy/embedder
  destination:
    server: https://kubernetes.default.svc
    namespace: research-models
  ignoreDifferences:
    - group: apps
      kind: StatefulSet
      name: embedder
      namespace: research-models
      jsonPointers:
        - /spec/replicas
  syncPolicy:
    syncOptions:
      - CreateNamespace=true
      - RespectIgnoreDifferences=true
`,
		"clusters/research-lab/stacks/embedding/embedding-index.yaml": `# The index settings the notebooks read; always on.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: embedding-index
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: research-lab
  source:
    repoURL: ` + repoURL + `
    targetRevision: HEAD
    path: clusters/research-lab/deploy/embedding-index
  destination:
    server: https://kubernetes.default.svc
    namespace: research-models
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
`,
		"clusters/research-lab/deploy/embedder/kustomization.yaml": `resources:
  - statefulset.yaml
  - service.yaml
`,
		"clusters/research-lab/deploy/embedder/statefulset.yaml": `# replicas stay 0 here: kubectl costgate up/down sets them.
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: embedder
  labels:
    research.lab/component: embedder
spec:
  replicas: 0
  serviceName: embedder
  selector:
    matchLabels:
      research.lab/component: embedder
  template:
    metadata:
      labels:
        research.lab/component: embedder
    spec:
      containers:
        - name: embedder
          image: registry.k8s.io/pause:3.10
          ports:
            - name: http
              containerPort: 8080
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
`,
		"clusters/research-lab/deploy/embedder/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: embedder
  labels:
    research.lab/component: embedder
spec:
  clusterIP: None
  selector:
    research.lab/component: embedder
  ports:
    - name: http
      port: 8080
`,
		"clusters/research-lab/deploy/embedding-index/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: embedding-index
data:
  dimensions: "768"
  metric: cosine
`,
	}
}

// snapshotFiles reads every file under the given folders of root (relative
// paths with slashes -> bytes).
func snapshotFiles(t *testing.T, root string, dirs ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = data
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// changedFiles says how after differs from before: files added, removed or
// with other bytes, sorted.
func changedFiles(before, after map[string][]byte) []string {
	var out []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			out = append(out, p+" (removed)")
		case !bytes.Equal(a, b):
			out = append(out, p+" (changed)")
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			out = append(out, p+" (added)")
		}
	}
	sort.Strings(out)
	return out
}

// namespaces is the cluster-scoped kind for the plugins' watch.
var namespaces = kube.Kind{GVR: schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, Kind: "Namespace"}

// The held-back research environment: a tree written by hand, with a
// scale gate on a StatefulSet, adopts with init (which writes platform.yaml and
// nothing else), lints, applies, and its gate opens and closes through /scale
// with its record on the Application; not one of the team's files changes.
func TestResearchLabAdoptsAndRunsItsStatefulSetGate(t *testing.T) {
	s := sandbox.Need(t, sb)
	ctx := context.Background()
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	tree := labTree(s.RepoURL)
	if _, err := s.CommitToRepo("the research lab's tree, as the team wrote it", tree); err != nil {
		t.Fatal(err)
	}
	teamDirs := []string{"clusters/research-lab", filepath.Dir(labConfig)}
	snapshot := snapshotFiles(t, s.RepoDir, teamDirs...)
	if len(snapshot) != len(tree) {
		t.Fatalf("the team's folders hold %d files, the tree %d: a file of another test is in them", len(snapshot), len(tree))
	}

	clusters := filepath.Join(s.RepoDir, "clusters")
	plugin := func(timeout time.Duration, name string, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, name, append(args, "--env", labEnv, "--dir", clusters)...)
	}
	profile := func(timeout time.Duration, args ...string) sandbox.Result {
		t.Helper()
		return plugin(timeout, "kubectl-profile", args...)
	}
	gate := func(args ...string) sandbox.Result {
		t.Helper()
		return plugin(4*time.Minute, "kubectl-costgate", args...)
	}
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	statefulSets := s.Kube.AppsV1().StatefulSets(labNamespace)
	pods := func() []corev1.Pod {
		t.Helper()
		l, err := s.Kube.CoreV1().Pods(labNamespace).List(ctx, metav1.ListOptions{LabelSelector: "research.lab/component=embedder"})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	t.Cleanup(func() { cleanUpLab(t, s) })

	// 2. init: one file added, inferred from the tree.
	r := s.Plugin(t, time.Minute, "kubectl-profile", "init", "--env", labEnv, "--dir", clusters, "--config", filepath.Join(s.RepoDir, labConfig))
	if r.Code != 0 {
		t.Fatalf("init refused the research lab's tree: %s", r)
	}
	for _, want := range []string{"project: research-lab", "groupsFile: lab-groups.yaml", "catalog: stacks", "models", labSet, "embedding"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("init does not say %q:\n%s", want, r.Stdout)
		}
	}
	descriptor := "clusters/research-lab/platform.yaml"
	if got := changedFiles(snapshot, snapshotFiles(t, s.RepoDir, teamDirs...)); strings.Join(got, ",") != descriptor+" (added)" {
		t.Fatalf("init changed %v, want only %s added", got, descriptor)
	}
	if data, err := os.ReadFile(filepath.Join(s.RepoDir, descriptor)); err != nil || !strings.Contains(string(data), "\nprojects: project\n") {
		t.Errorf("init did not record the AppProject's own folder: %v\n%s", err, data)
	}

	// 3. lint, resolve --check, apply and wait.
	if r := plugin(time.Minute, "kubectl-costgate", "lint", "--strict"); r.Code != 0 {
		t.Fatalf("costgate lint --strict: %s", r)
	}
	if r := profile(time.Minute, "resolve", "--check"); r.Code != 0 {
		t.Fatalf("the team's own groups file means what resolve would write: %s", r)
	}
	r = profile(time.Minute, "apply", "models")
	if r.Code != 0 || !strings.Contains(r.Stdout, "appproject.argoproj.io/research-lab created") ||
		!strings.Contains(r.Stdout, "applicationset.argoproj.io/"+labSet+" created") {
		t.Fatalf("apply models: %s", r)
	}
	r = profile(5*time.Minute, "wait", "models", "--timeout", "4m")
	if r.Code != 0 {
		t.Fatalf("wait models: %s", r)
	}
	for _, name := range []string{labGroupApp, labIndexApp} {
		if !strings.Contains(r.Stdout, name) {
			t.Errorf("wait does not show %s:\n%s", name, r.Stdout)
		}
	}
	if _, err := s.Kube.CoreV1().ConfigMaps(labNamespace).Get(ctx, labIndexApp, metav1.GetOptions{}); err != nil {
		t.Errorf("the auto-sync app did not deploy: %v", err)
	}
	if _, err := statefulSets.Get(ctx, labGate, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the gated StatefulSet exists before anyone synced its gate: %v", err)
	}

	// 4. sync deploys it at git's 0; up opens it to the gate's 1, recorded.
	r = gate("sync", labGate)
	if r.Code != 0 || !strings.Contains(r.Stdout, "sync "+labGate+": Succeeded") {
		t.Fatalf("sync: %s", r)
	}
	if sts, err := statefulSets.Get(ctx, labGate, metav1.GetOptions{}); err != nil || *sts.Spec.Replicas != 0 {
		t.Fatalf("after sync: %v, want the StatefulSet at git's 0 replicas", err)
	}
	opened := time.Now()
	r = gate("up", labGate, "--for", "30m")
	if r.Code != 0 || !strings.Contains(r.Stdout, "StatefulSet/research-models/embedder 0 -> 1") || !strings.Contains(r.Stdout, labGate+": up") {
		t.Fatalf("up --for 30m: %s", r)
	}
	t.Logf("up:\n%s", r.Stdout)
	sts, err := statefulSets.Get(ctx, labGate, metav1.GetOptions{})
	if err != nil || *sts.Spec.Replicas != 1 {
		t.Fatalf("after up: %v, want 1 replica", err)
	}
	if ps := pods(); len(ps) != 1 || !podIsReady(ps[0]) {
		t.Fatalf("after up: want one Ready pod, got %s", describePods(ps))
	}
	review, err := s.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	me := review.Status.UserInfo.Username
	app, err := apps.Get(ctx, labGate, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ann := app.GetAnnotations()
	if ann[costgate.OpenedByAnnotation] != me || me == "" {
		t.Errorf("Application %s: %s is %q, want %q", labGate, costgate.OpenedByAnnotation, ann[costgate.OpenedByAnnotation], me)
	}
	expires, err := time.Parse(time.RFC3339, ann[costgate.ExpiresAtAnnotation])
	if err != nil {
		t.Fatalf("Application %s: %s: %v", labGate, costgate.ExpiresAtAnnotation, err)
	}
	// RFC 3339 has whole seconds: allow one either side.
	if lo, hi := opened.Add(30*time.Minute-time.Second), time.Now().Add(30*time.Minute+time.Second); expires.Before(lo) || expires.After(hi) {
		t.Errorf("Application %s expires at %s, want 30m after up (%s to %s)", labGate, expires, lo, hi)
	}
	if ann[costgate.OpenedAtAnnotation] == "" {
		t.Errorf("Application %s has no %s", labGate, costgate.OpenedAtAnnotation)
	}

	// 5. list shows it up, who opened it and until when.
	r = gate("list", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("list -o json: %s", r)
	}
	var listed []costgate.Status
	if err := json.Unmarshal([]byte(r.Stdout), &listed); err != nil {
		t.Fatalf("list -o json: %v\n%s", err, r.Stdout)
	}
	if len(listed) != 1 {
		t.Fatalf("list shows %d gates, want embedder alone:\n%s", len(listed), r.Stdout)
	}
	got := listed[0]
	if got.App != labGate || got.State != costgate.StateUp || got.Target != "StatefulSet/research-models/embedder" ||
		got.Desired != 1 || got.Ready != 1 || got.CostPerHour != 0.35 || got.Layer != "models" || got.Group != "embedding" {
		t.Errorf("list: %+v, want embedder up at 1/1, 0.35 an hour, in models/embedding", got)
	}
	if got.OpenedBy != me || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) {
		t.Errorf("list: openedBy %q, expiresAt %v; want %q and %s", got.OpenedBy, got.ExpiresAt, me, expires)
	}

	// 6. down: 0 replicas, pods gone, the count remembered on the Application.
	r = gate("down", labGate)
	if r.Code != 0 || !strings.Contains(r.Stdout, "1 -> 0") || !strings.Contains(r.Stdout, labGate+": down") {
		t.Fatalf("down: %s", r)
	}
	t.Logf("down:\n%s", r.Stdout)
	if sts, err := statefulSets.Get(ctx, labGate, metav1.GetOptions{}); err != nil || *sts.Spec.Replicas != 0 {
		t.Errorf("after down: %v, want 0 replicas", err)
	}
	if ps := pods(); len(ps) != 0 {
		t.Errorf("down returned with pods left: %s", describePods(ps))
	}
	if app, err = apps.Get(ctx, labGate, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	ann = app.GetAnnotations()
	if ann[costgate.PreviousReplicasAnnotation] != "1" {
		t.Errorf("Application %s: %s is %q, want \"1\"", labGate, costgate.PreviousReplicasAnnotation, ann[costgate.PreviousReplicasAnnotation])
	}
	for _, gone := range []string{costgate.OpenedByAnnotation, costgate.ExpiresAtAnnotation, costgate.OpenedAtAnnotation} {
		if v, ok := ann[gone]; ok {
			t.Errorf("Application %s still has %s: %q after down", labGate, gone, v)
		}
	}

	// 7. Not one of the team's files changed: init added platform.yaml, and that is all.
	if got := changedFiles(snapshot, snapshotFiles(t, s.RepoDir, teamDirs...)); strings.Join(got, ",") != descriptor+" (added)" {
		t.Errorf("the team's tree changed: %v, want only %s added", got, descriptor)
	}
}

// cleanUpLab removes what the research lab test created: its ApplicationSet
// (and with it, through the finalizers, the Applications and what they
// deployed), then the AppProject, the ApplySet parent and the namespace,
// waiting for each so the next test (or the next run) starts clean.
func cleanUpLab(t *testing.T, s *sandbox.Sandbox) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fail := func(what string, err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("cleanup: %s: %v", what, err)
		}
	}
	fg := metav1.DeletePropagationForeground
	fail("deleting ApplicationSet "+labSet, s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace).
		Delete(ctx, labSet, metav1.DeleteOptions{PropagationPolicy: &fg}))
	fail("ApplicationSet "+labSet, s.WaitGone(ctx, sandbox.ApplicationSetGVR, sandbox.ArgoCDNamespace, labSet))
	// The finalizers need the AppProject: it goes once its Applications have.
	for _, app := range []string{labGroupApp, labGate, labIndexApp} {
		fail("Application "+app, s.WaitGone(ctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, app))
	}
	fail("deleting AppProject research-lab", s.Dynamic.Resource(sandbox.AppProjectGVR).Namespace(sandbox.ArgoCDNamespace).
		Delete(ctx, "research-lab", metav1.DeleteOptions{}))
	fail("deleting the ApplySet parent", s.Kube.CoreV1().ConfigMaps(sandbox.ArgoCDNamespace).Delete(ctx, "kubectl-profile-"+labEnv, metav1.DeleteOptions{}))
	fail("deleting namespace "+labNamespace, s.Kube.CoreV1().Namespaces().Delete(ctx, labNamespace, metav1.DeleteOptions{}))
	for snap := range s.Client.Watch(ctx, namespaces, "", kube.Named(labNamespace)).C {
		if snap[labNamespace] == nil {
			return
		}
	}
	t.Errorf("cleanup: namespace %s still there: %v", labNamespace, ctx.Err())
}

func podIsReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func describePods(ps []corev1.Pod) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s (%s, ready %t, deleting %t)", p.Name, p.Status.Phase, podIsReady(p), p.DeletionTimestamp != nil))
	}
	return fmt.Sprintf("%d pod(s) %v", len(ps), out)
}
