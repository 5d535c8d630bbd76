package platform_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

// withConfig loads a copy of ai-dev whose config file is content.
func withConfig(t *testing.T, content string) (*platform.Env, error) {
	t.Helper()
	dir := platformtest.CopyEnv(t, clusters, "ai-dev", map[string]platformtest.Edit{
		"config.yaml": func(string) string { return content },
	})
	return platform.Load(dir, "ai-dev")
}

// The platform's own resolver fixtures: each resolves to the 21 groups, and
// the costgate-watcher's (22), with
// layer, enabled and catalog path; gpu-operator stays off (gpu_stack absent or
// gke-managed); the empty-domain one prints the platform's two warnings.
func TestResolverParity(t *testing.T) {
	for _, name := range []string{"all-on", "minimal", "trailing-comment", "empty-domain"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "parity", name+".config.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			e, err := withConfig(t, string(data))
			if err != nil {
				t.Fatal(err)
			}
			groups := e.Resolve()
			if len(groups) != 22 {
				t.Errorf("%d groups, want 22", len(groups))
			}
			for _, g := range groups {
				if g.Name == "gpu-operator" && g.Enabled != "false" {
					t.Error("gpu-operator is on without gpu_stack: operator")
				}
			}
			out, err := yaml.Marshal(groups)
			if err != nil {
				t.Fatal(err)
			}
			warnings, needs := e.Notes()
			notes := "# warnings\n" + strings.Join(warnings, "\n") + "\n# needs\n" + strings.Join(needs, "\n") + "\n"
			golden.Assert(t, "testdata/parity/"+name+".groups.yaml", out)
			golden.Assert(t, "testdata/parity/"+name+".notes", []byte(notes))
		})
	}
	e, _ := withConfig(t, mustRead(t, "testdata/parity/empty-domain.config.yaml"))
	warnings, _ := e.Notes()
	for _, want := range []string{"identity: domain is empty", "dns: dns.provider is none"} {
		if !slices.ContainsFunc(warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
			t.Errorf("no warning %q in %q", want, warnings)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// gpu_stack: only operator enables the gpu-operator group; only gke-managed
// deploys the PodMonitor for GKE's managed dcgm-exporter.
func TestGPUStack(t *testing.T) {
	for _, stack := range []string{"gke-managed", "operator", "none", ""} {
		t.Run("gpu_stack="+stack, func(t *testing.T) {
			config := "repoURL: https://example.com/fork.git\nfeatures: {}\n"
			if stack != "" {
				config += "gpu_stack: " + stack + "\n"
			}
			e, err := withConfig(t, config)
			if err != nil {
				t.Fatal(err)
			}
			effective := stack
			if effective == "" {
				effective = "gke-managed"
			}
			var operatorOn bool
			for _, g := range e.Resolve() {
				if g.Name == "gpu-operator" {
					operatorOn = g.Enabled == "true"
				}
			}
			if operatorOn != (effective == "operator") {
				t.Errorf("gpu-operator enabled = %v", operatorOn)
			}
			files, err := e.Generated()
			if err != nil {
				t.Fatal(err)
			}
			k := generatedFile(t, files, filepath.Join(e.CatalogDir("platform-core"), "kustomization.yaml"))
			if got := strings.Contains(k, "- dcgm-metrics.yaml"); got != (effective == "gke-managed") {
				t.Errorf("dcgm-metrics in platform-core: %v\n%s", got, k)
			}
			p, _ := e.Profile("platform")
			expected, err := e.ExpectedApps(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.ContainsFunc(expected, func(a platform.ExpectedApp) bool { return a.Name == "dcgm-metrics" }); got != (effective == "gke-managed") {
				t.Errorf("wait expects dcgm-metrics: %v", got)
			}
		})
	}
	_, err := withConfig(t, "repoURL: https://example.com/fork.git\ngpu_stack: nvidia\n")
	if err == nil || !strings.Contains(err.Error(), `config.yaml: gpu_stack: "nvidia" is not one of gke-managed, operator, none`) {
		t.Errorf("bad gpu_stack: %v", err)
	}
}

// On GKE >= 1.34, which installs the Gateway API CRDs itself, gateway_api_crds:
// gke leaves the app that would fight it out of platform-core and of wait.
func TestGatewayAPICRDsLeftToGKE(t *testing.T) {
	for setting, deployed := range map[string]bool{"": true, "argocd": true, "gke": false} {
		config := "repoURL: https://example.com/fork.git\nfeatures: {}\n"
		if setting != "" {
			config += "gateway_api_crds: " + setting + "\n"
		}
		e, err := withConfig(t, config)
		if err != nil {
			t.Fatal(err)
		}
		files, err := e.Generated()
		if err != nil {
			t.Fatal(err)
		}
		k := generatedFile(t, files, filepath.Join(e.CatalogDir("platform-core"), "kustomization.yaml"))
		if got := strings.Contains(k, "- gateway-api-crds.yaml"); got != deployed {
			t.Errorf("gateway_api_crds %q: gateway-api-crds in platform-core = %v, want %v", setting, got, deployed)
		}
		p, _ := e.Profile("platform")
		expected, err := e.ExpectedApps(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.ContainsFunc(expected, func(a platform.ExpectedApp) bool { return a.Name == "gateway-api-crds" }); got != deployed {
			t.Errorf("gateway_api_crds %q: wait expects gateway-api-crds = %v", setting, got)
		}
	}
}

func generatedFile(t *testing.T, files []platform.GeneratedFile, path string) string {
	t.Helper()
	for _, f := range files {
		if f.Path == path {
			return string(f.Content)
		}
	}
	t.Fatalf("resolve does not generate %s", path)
	return ""
}

// The config file is shared with other tooling: its other keys are ignored, a
// typo inside features: is not.
func TestConfigKeysOfOtherTools(t *testing.T) {
	if _, err := withConfig(t, "repoURL: https://example.com/fork.git\nterraform: {state: gcs}\ncluster: {name: x}\nfeatures: {guardrails: true}\n"); err != nil {
		t.Errorf("other tools' keys refused: %v", err)
	}
	_, err := withConfig(t, "repoURL: https://example.com/fork.git\nfeatures: {guardrail: true}\n")
	if err == nil || !strings.Contains(err.Error(), "features: unknown feature(s) guardrail (known: ") {
		t.Errorf("typo in features: %v", err)
	}
	_, err = withConfig(t, "repoURL: https://example.com/fork.git\nrevision: main\nrepoBranch: dev\n")
	if err == nil || !strings.Contains(err.Error(), `revision "main" and repoBranch "dev" disagree`) {
		t.Errorf("revision vs repoBranch: %v", err)
	}
}

// A fork changes config.yaml and runs resolve: every git source of the catalog
// then reads the fork at its branch, and the settings reach the Applications.
func TestCatalogFollowsTheConfig(t *testing.T) {
	e, err := withConfig(t, "repoURL: https://git.example.com/fork.git\nrepoBranch: stable\ndomain: fork.example.org\n")
	if err != nil {
		t.Fatal(err)
	}
	sawGit := 0
	for _, a := range e.Apps {
		m, err := e.Effective(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range platform.GitSources(m) {
			sawGit++
			if s.RepoURL != "https://git.example.com/fork.git" {
				t.Errorf("%s: %s reads %s", a.File, s.Pointer, s.RepoURL)
			}
		}
		data, _ := yaml.Marshal(m)
		if strings.Contains(string(data), "${") && !strings.Contains(string(data), "${ARGOCD_") {
			t.Errorf("%s: a placeholder is left:\n%s", a.File, data)
		}
	}
	if sawGit < 20 {
		t.Errorf("only %d git sources seen", sawGit)
	}
}

func TestUnknownPlaceholderNamesFileAndField(t *testing.T) {
	dir := platformtest.CopyEnv(t, clusters, "ai-dev", map[string]platformtest.Edit{
		"catalog/serving-core/raw-vllm.yaml": platformtest.Replace(t, "namespace: serving\n", "namespace: ${serving_ns}\n"),
	})
	e, err := platform.Load(dir, "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Generated()
	if err == nil || !strings.Contains(err.Error(), "raw-vllm.yaml: Application raw-vllm: /spec/destination/namespace: unknown setting(s) serving_ns (declared: domain, ") {
		t.Errorf("got %v", err)
	}
}

// The generated catalog kustomization, built as Argo CD builds it (kustomize),
// deploys exactly the Applications Effective describes: the same objects, the
// same fields, and none of the apps a condition leaves out.
func TestGeneratedCatalogBuildsToTheEffectiveApps(t *testing.T) {
	e, err := withConfig(t, "repoURL: https://git.example.com/fork.git\nrepoBranch: stable\ndomain: fork.example.org\ngpu_stack: none\n")
	if err != nil {
		t.Fatal(err)
	}
	files, err := e.Generated()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := platform.Write(files); err != nil {
		t.Fatal(err)
	}
	built := 0
	for _, l := range e.Descriptor.Layers {
		for _, g := range l.Groups {
			objs, err := render.Kustomize(e.CatalogDir(g.Name))
			if err != nil {
				t.Fatalf("group %s: %v", g.Name, err)
			}
			byName := map[string]map[string]any{}
			for _, o := range objs {
				byName[o.GetName()] = o.Object
			}
			for _, a := range e.Apps {
				if a.Group != g.Name {
					continue
				}
				got, deployed := byName[a.Name]
				if deployed != e.AppIncluded(a) {
					t.Errorf("%s: deployed %v, included %v", a.Name, deployed, e.AppIncluded(a))
				}
				if !deployed {
					continue
				}
				built++
				want, err := e.Effective(a)
				if err != nil {
					t.Fatal(err)
				}
				gotYAML, _ := yaml.Marshal(got)
				wantYAML, _ := yaml.Marshal(want)
				if string(gotYAML) != string(wantYAML) {
					t.Errorf("%s: kustomize builds\n%s\nEffective says\n%s", a.Name, gotYAML, wantYAML)
				}
			}
		}
	}
	if built != 56 { // 57 less dcgm-metrics (gpu_stack: none)
		t.Errorf("%d apps built, want 56", built)
	}
}
