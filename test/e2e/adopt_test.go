package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// teamTree is a team's own repository layout, written into the sandbox's git
// repository: ApplicationSets named edge-<layer> that generate <group>-apps, a
// hand-written kustomization, a groups file in the team's own format, the config
// outside clusters/ with other tools' keys, and no descriptor: profile init adds
// it. Its apps deploy one ConfigMap each into namespaces of their own.
func teamTree(repoURL string) map[string]string {
	files := map[string]string{
		"config/team.yaml": `# Shared with the team's other tooling.
cluster: sandbox
domain: ""
repoURL: ` + repoURL + `
revision: HEAD
namespace: argocd
features:
  batch: true
`,
		"clusters/team/groups.yaml": `# Written by our old Makefile.
- {name: base, layer: core, enabled: "true", catalogPath: clusters/team/apps/base}
- {name: batch, layer: jobs, enabled: "true", catalogPath: clusters/team/apps/batch}
`,
		"clusters/team/appsets/kustomization.yaml": `# Ours: kubectl apply -k clusters/team/appsets
resources:
- project.yaml
- edge-core.yaml
- edge-jobs.yaml
`,
		"clusters/team/appsets/project.yaml": `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team-edge
  namespace: argocd
spec:
  sourceRepos: ['*']
  destinations: [{server: https://kubernetes.default.svc, namespace: '*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
`,
	}
	for _, layer := range []string{"core", "jobs"} {
		files["clusters/team/appsets/edge-"+layer+".yaml"] = fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: edge-%[1]s
  namespace: argocd
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - git:
      repoURL: %[2]s
      revision: HEAD
      files: [{path: clusters/team/groups.yaml}]
    selector:
      matchLabels: {layer: %[1]s, enabled: "true"}
  template:
    metadata:
      name: '{{.name}}-apps'
      finalizers: [resources-finalizer.argocd.argoproj.io]
    spec:
      project: team-edge
      source: {repoURL: %[2]s, targetRevision: HEAD, path: '{{.catalogPath}}'}
      destination: {server: https://kubernetes.default.svc, namespace: argocd}
      syncPolicy:
        automated: {prune: true, selfHeal: true}
`, layer, repoURL)
	}
	for group, apps := range map[string][]string{"base": {"team-base"}, "batch": {"team-batch"}} {
		for _, app := range apps {
			files["clusters/team/apps/"+group+"/"+app+".yaml"] = fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %[1]s
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: team-edge
  source: {repoURL: %[2]s, targetRevision: HEAD, path: clusters/team/workloads/%[1]s}
  destination: {server: https://kubernetes.default.svc, namespace: %[1]s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, app, repoURL)
			files["clusters/team/workloads/"+app+"/configmap.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {owner: team}\n", app)
		}
	}
	return files
}

// A team's repository, adopted with one added file, whose ApplicationSets and
// group apps are named otherwise than ai-dev's: apply, wait and prune name
// exactly the objects the tree defines, and touch nothing of the sandbox env.
func TestAdoptedTreeWithItsOwnNames(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitToRepo("a team's tree", teamTree(s.RepoURL)); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	profile := func(timeout time.Duration, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, "kubectl-profile", append(args, "--env", "team", "--dir", clusters)...)
	}
	ctx := context.Background()
	appsets := s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace)
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	othersBefore := s.ProfileState(t)
	t.Cleanup(func() {
		// Leave the sandbox as it was: the narrowest profile, then its last layer by hand.
		profile(5*time.Minute, "apply", "core", "--prune", "--timeout", "4m")
		fg := metav1.DeletePropagationForeground
		_ = appsets.Delete(ctx, "edge-core", metav1.DeleteOptions{PropagationPolicy: &fg})
		_ = s.WaitGone(ctx, sandbox.ApplicationSetGVR, sandbox.ArgoCDNamespace, "edge-core")
	})

	// The one file the plugins add, inferred from the tree.
	r := s.Plugin(t, time.Minute, "kubectl-profile", "init", "--env", "team", "--dir", clusters, "--config", filepath.Join(s.RepoDir, "config", "team.yaml"))
	if r.Code != 0 {
		t.Fatalf("init: %s", r)
	}
	if r := profile(time.Minute, "list"); r.Code != 0 || !strings.Contains(r.Stdout, "jobs ") {
		t.Fatalf("list after init: %s", r)
	}
	if r := profile(time.Minute, "resolve", "--check"); r.Code != 0 {
		t.Fatalf("the team's own groups file means what resolve would write: %s", r)
	}
	r = profile(time.Minute, "apply", "jobs")
	if r.Code != 0 || !strings.Contains(r.Stdout, "applicationset.argoproj.io/edge-core created") || !strings.Contains(r.Stdout, "applicationset.argoproj.io/edge-jobs created") {
		t.Fatalf("apply jobs: %s", r)
	}
	if strings.Contains(r.Stdout+r.Stderr, "layer-") {
		t.Errorf("apply names objects the tree does not have: %s", r)
	}
	r = profile(4*time.Minute, "wait", "jobs", "--timeout", "3m")
	if r.Code != 0 || !strings.Contains(r.Stdout, "profile jobs: 4 apps Synced and Healthy") {
		t.Fatalf("wait jobs: %s", r)
	}
	for _, name := range []string{"base-apps", "batch-apps", "team-base", "team-batch"} {
		if !strings.Contains(r.Stdout, name) {
			t.Errorf("wait does not show %s:\n%s", name, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout+r.Stderr, "group-") || strings.Contains(r.Stdout+r.Stderr, "layer-") {
		t.Errorf("wait names objects the tree does not have: %s", r)
	}
	if _, err := s.Kube.CoreV1().ConfigMaps("team-batch").Get(ctx, "team-batch", metav1.GetOptions{}); err != nil {
		t.Errorf("team-batch did not deploy: %v", err)
	}
	if r := profile(time.Minute, "status"); r.Code != 0 || !strings.Contains(r.Stdout, "profile jobs applied; live layers: core, jobs") {
		t.Errorf("status: %s", r)
	}

	r = profile(5*time.Minute, "apply", "core", "--prune", "--timeout", "4m")
	if r.Code != 0 || !strings.Contains(r.Stdout, "applicationset.argoproj.io/edge-jobs pruned") ||
		!strings.Contains(r.Stderr, "deleting applicationset.argoproj.io/edge-jobs") {
		t.Fatalf("apply core --prune: %s", r)
	}
	for _, gone := range []string{"batch-apps", "team-batch"} {
		if _, err := apps.Get(ctx, gone, metav1.GetOptions{}); err == nil {
			t.Errorf("Application %s of the pruned layer is still there", gone)
		}
	}
	// Nothing but the team's own set changed: the sandbox env's ApplicationSets,
	// AppProject and ApplySet parent keep their resourceVersions.
	others, before := notTeams(s.ProfileState(t)), notTeams(othersBefore)
	if others != before {
		t.Errorf("the team's apply and prune touched other objects:\nbefore:\n%s\nafter:\n%s", before, others)
	}
}

// notTeams is a liveState without the team env's own objects.
func notTeams(state string) string {
	var keep []string
	for _, line := range strings.Split(state, "\n") {
		if !strings.Contains(line, "edge-") && !strings.Contains(line, "team-edge") && !strings.Contains(line, "kubectl-profile-team") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}
