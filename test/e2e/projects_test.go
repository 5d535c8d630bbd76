package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

// researchTree is teamTree under other names (env research, ApplicationSets
// rs-<layer>, project research) with its AppProject kept in a folder of its
// own, outside the folder that renders the ApplicationSets: as many teams
// keep their AppProjects.
func researchTree(repoURL string) map[string]string {
	rename := strings.NewReplacer("clusters/team/", "clusters/research/", "team-edge", "research", "edge-", "rs-",
		"team-base", "rs-base", "team-batch", "rs-batch", "}}-apps", "}}-rsapps", "- project.yaml\n", "")
	files := map[string]string{}
	for path, content := range teamTree(repoURL) {
		path, content = rename.Replace(path), rename.Replace(content)
		if strings.HasSuffix(path, "appsets/project.yaml") {
			path = "clusters/research/projects/research.yaml"
		}
		files[path] = content
	}
	return files
}

// The truth of an ApplicationSet that cannot generate, on the real Argo CD:
// ApplicationSets that name an AppProject nowhere to be found are refused by
// apply before any write; created anyway (as kubectl apply -k would), wait
// fails within seconds naming the ApplicationSet and the controller's own
// message, and status says it too. init finds the AppProject in its own
// folder (projects:), and then apply and wait bring the layer up.
func TestAnAppProjectKeptApart(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitToRepo("a research team's tree", researchTree(s.RepoURL)); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	descriptor := filepath.Join(clusters, "research", "platform.yaml")
	profile := func(timeout time.Duration, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, "kubectl-profile", append(args, "--env", "research", "--dir", clusters)...)
	}
	ctx := context.Background()
	appsets := s.Dynamic.Resource(sandbox.ApplicationSetGVR).Namespace(sandbox.ArgoCDNamespace)
	projects := s.Dynamic.Resource(sandbox.AppProjectGVR).Namespace(sandbox.ArgoCDNamespace)
	t.Cleanup(func() {
		profile(5*time.Minute, "apply", "core", "--prune", "--timeout", "4m")
		fg := metav1.DeletePropagationForeground
		_ = appsets.Delete(ctx, "rs-core", metav1.DeleteOptions{PropagationPolicy: &fg})
		_ = s.WaitGone(ctx, sandbox.ApplicationSetGVR, sandbox.ArgoCDNamespace, "rs-core")
		_ = projects.Delete(ctx, "research", metav1.DeleteOptions{})
	})

	r := s.Plugin(t, time.Minute, "kubectl-profile", "init", "--env", "research", "--dir", clusters, "--config", filepath.Join(s.RepoDir, "config", "team.yaml"))
	if r.Code != 0 {
		t.Fatalf("init: %s", r)
	}
	data, err := os.ReadFile(descriptor)
	if err != nil || !strings.Contains(string(data), "\nprojects: projects\n") {
		t.Fatalf("init did not record the AppProject's folder: %v\n%s", err, data)
	}
	// The descriptor of a tree whose AppProject nothing renders.
	if err := os.WriteFile(descriptor, []byte(strings.Replace(string(data), "\nprojects: projects\n", "\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := profile(time.Minute, "lint"); !strings.Contains(r.Stdout+r.Stderr, "AppProject research, which is not rendered with them") {
		t.Errorf("lint does not warn: %s", r)
	}
	r = profile(time.Minute, "apply", "core")
	if r.Code != 1 || !strings.Contains(r.Stderr, "nothing was written: the ApplicationSets name AppProject research") {
		t.Fatalf("apply without the AppProject: %s", r)
	}
	if _, err := appsets.Get(ctx, "rs-core", metav1.GetOptions{}); err == nil {
		t.Fatal("a refused apply created rs-core")
	}

	// As `kubectl apply -k appsets` would: the ApplicationSet, without its AppProject.
	manifest, err := os.ReadFile(filepath.Join(clusters, "research", "appsets", "rs-core.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var set unstructured.Unstructured
	if err := yaml.Unmarshal(manifest, &set.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := appsets.Create(ctx, &set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r = profile(3*time.Minute, "wait", "core", "--timeout", "2m")
	if r.Code != 1 || !strings.Contains(r.Stderr, "ApplicationSet rs-core fails:") || !strings.Contains(r.Stderr, "research") {
		t.Fatalf("wait on an ApplicationSet that cannot generate: %s", r)
	}
	if waited := time.Since(start); waited > 90*time.Second {
		t.Errorf("wait took %s to say it: it waited for its timeout rather than the error", waited.Round(time.Second))
	}
	if r := profile(time.Minute, "status"); !strings.Contains(r.Stdout, "ApplicationSet rs-core fails since") {
		t.Errorf("status does not say it: %s", r)
	}

	// init again: the AppProject's folder is recorded, and the layer comes up.
	if r := s.Plugin(t, time.Minute, "kubectl-profile", "init", "--env", "research", "--dir", clusters, "--force",
		"--config", filepath.Join(s.RepoDir, "config", "team.yaml")); r.Code != 0 {
		t.Fatalf("init --force: %s", r)
	}
	r = profile(time.Minute, "apply", "core")
	if r.Code != 0 || !strings.Contains(r.Stdout, "appproject.argoproj.io/research created") {
		t.Fatalf("apply with projects: %s", r)
	}
	if r := profile(4*time.Minute, "wait", "core", "--timeout", "3m"); r.Code != 0 {
		t.Fatalf("wait core once the AppProject exists: %s", r)
	}
}
