package platform_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

func TestCommittedTreesLintClean(t *testing.T) {
	for _, name := range []string{"ai-dev", "sandbox", "sandbox-spoke"} {
		for _, f := range load(t, name).Lint() {
			t.Errorf("%s: %s", name, f)
		}
	}
}

// Each broken copy of the sandbox tree gets exactly the finding that names
// the file, the field and the check.
func TestLintBrokenCopies(t *testing.T) {
	cases := []struct {
		name  string
		edits map[string]platformtest.Edit
		extra map[string]string // files added to the copy (relative to the env)
		want  platform.Finding  // Severity, App, File (relative to the env), Field, Check
		msg   string
	}{{
		name: "missing path",
		edits: map[string]platformtest.Edit{"catalog/serving-core/raw-vllm.yaml": platformtest.Replace(t,
			"path: clusters/sandbox/workloads/raw-vllm", "path: clusters/sandbox/workloads/raw-vlm")},
		want: platform.Finding{App: "raw-vllm", File: "catalog/serving-core/raw-vllm.yaml", Field: "spec.source.path", Check: platform.CheckGitSource},
		msg:  "clusters/sandbox/workloads/raw-vlm: no such folder in the repository",
	}, {
		name: "folder that does not build",
		edits: map[string]platformtest.Edit{"workloads/raw-vllm/deployment.yaml": func(s string) string {
			return s + "\n---\nkind: [\n"
		}},
		want: platform.Finding{App: "raw-vllm", File: "catalog/serving-core/raw-vllm.yaml", Field: "spec.source.path", Check: platform.CheckGitSource},
		msg:  "clusters/sandbox/workloads/raw-vllm: ",
	}, {
		name: "unpinned chart",
		extra: map[string]string{"catalog/opencost/dashboards.yaml": `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: dashboards}
spec:
  project: platform
  source: {repoURL: https://grafana.github.io/helm-charts, chart: grafana, targetRevision: 8.x}
  destination: {server: https://kubernetes.default.svc, namespace: monitoring}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
`},
		want: platform.Finding{App: "dashboards", File: "catalog/opencost/dashboards.yaml", Field: "spec.source.targetRevision", Check: platform.CheckChartPinned},
		msg:  `chart grafana is not pinned (targetRevision "8.x")`,
	}, {
		name: "unpinned image",
		edits: map[string]platformtest.Edit{"workloads/raw-vllm/deployment.yaml": platformtest.Replace(t,
			"image: vllm/vllm-openai:v0.11.0", "image: vllm/vllm-openai:latest")},
		want: platform.Finding{App: "raw-vllm", File: "workloads/raw-vllm/deployment.yaml", Field: "Deployment/raw-vllm container raw-vllm", Check: platform.CheckImagePinned},
		msg:  `image "vllm/vllm-openai:latest" is not pinned`,
	}, {
		name: "appset selecting an unknown layer",
		edits: map[string]platformtest.Edit{"appsets/base/serving.yaml": platformtest.Replace(t,
			"profile.aidev.io/layer: serving\n", "profile.aidev.io/layer: servng\n")},
		want: platform.Finding{File: "appsets/overlay", Check: platform.CheckAppSets},
		msg:  `label profile.aidev.io/layer="servng" is not a layer of sandbox`,
	}, {
		name: "appset reading another groups file",
		edits: map[string]platformtest.Edit{"appsets/base/serving.yaml": platformtest.Replace(t,
			"- path: clusters/sandbox/groups.yaml", "- path: clusters/sandbox/groups-old.yaml")},
		want: platform.Finding{App: "layer-serving", File: "appsets/base/serving.yaml", Field: "spec.generators[].git.files[].path", Check: platform.CheckGroupsFile},
		msg:  "reads clusters/sandbox/groups-old.yaml, not the groups file platform.yaml names (clusters/sandbox/groups.yaml)",
	}, {
		name: "secret with no producer",
		edits: map[string]platformtest.Edit{"workloads/raw-vllm/deployment.yaml": platformtest.Replace(t,
			"secretKeyRef: {name: vllm-api-key, key: api-key, optional: true}", "secretKeyRef: {name: vllm-api-key, key: api-key}")},
		want: platform.Finding{App: "raw-vllm", File: "workloads/raw-vllm/deployment.yaml", Field: "Deployment/raw-vllm", Check: platform.CheckSecretProducer},
		msg:  "reads Secret serving/vllm-api-key, which nothing in the tree produces",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := platformtest.CopyEnv(t, clusters, "sandbox", c.edits)
			envDir := filepath.Join(dir, "sandbox")
			for rel, content := range c.extra {
				if err := os.WriteFile(filepath.Join(envDir, rel), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e, err := platform.Load(dir, "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			if len(c.extra) > 0 { // a new catalog file: resolve lists it in its group's kustomization
				files, err := e.Generated()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := platform.Write(files); err != nil {
					t.Fatal(err)
				}
				if e, err = platform.Load(dir, "sandbox"); err != nil {
					t.Fatal(err)
				}
			}
			findings := e.Lint()
			if len(findings) != 1 {
				t.Fatalf("want one finding, got %d:\n%v", len(findings), findings)
			}
			f := findings[0]
			rel, _ := filepath.Rel(envDir, f.File)
			got := platform.Finding{App: f.App, File: filepath.ToSlash(rel), Field: f.Field, Check: f.Check}
			if got != c.want || f.Severity != platform.Error || !strings.Contains(f.Message, c.msg) || f.Fix == "" {
				t.Errorf("got  %+v\nwant %+v with message containing %q\n%s", got, c.want, c.msg, f)
			}
		})
	}
}

// With the secret declared as seeded by hand, the workload may read it.
func TestLintAcceptsSeededSecrets(t *testing.T) {
	dir := platformtest.CopyEnv(t, clusters, "sandbox", map[string]platformtest.Edit{
		"workloads/raw-vllm/deployment.yaml": platformtest.Replace(t,
			"secretKeyRef: {name: vllm-api-key, key: api-key, optional: true}", "secretKeyRef: {name: vllm-api-key, key: api-key}"),
		"platform.yaml": platformtest.Replace(t, "layers:\n", "seededSecrets:\n- {namespace: serving, name: vllm-api-key, reason: the sandbox writes it}\nlayers:\n"),
	})
	e, err := platform.Load(dir, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if f := e.Lint(); len(f) != 0 {
		t.Errorf("findings: %v", f)
	}
}
