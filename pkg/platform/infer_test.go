package platform_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

// withoutDescriptor copies the adopted repository without its platform.yaml,
// as a team's tree is before init, with edits (path relative to the copy).
func withoutDescriptor(t *testing.T, edits map[string]platformtest.Edit) string {
	t.Helper()
	root := platformtest.CopyTree(t, adopt, edits)
	if err := os.Remove(filepath.Join(root, "clusters", "team", platform.DescriptorFile)); err != nil {
		t.Fatal(err)
	}
	return root
}

func inferTeam(t *testing.T, root string) *platform.Inference {
	t.Helper()
	inf, err := platform.Infer(filepath.Join(root, "clusters"), "team", filepath.Join(root, "config", "platform-config.yaml"), platform.HostKubectl)
	if err != nil {
		t.Fatal(err)
	}
	return inf
}

// The team's tree: init infers what the hand-written descriptor of the
// fixture says (monitoring's default aside: the config names monitoring, so
// its default never counts), and that descriptor means the same: the same
// groups file, the same ApplicationSet and Application names.
func TestInferAdoptedTree(t *testing.T) {
	root := withoutDescriptor(t, nil)
	inf := inferTeam(t, root)
	golden.Assert(t, "testdata/infer/team.platform.yaml", inf.Content)

	d := inf.Descriptor
	if d.Project != "team" || d.Config != "../../config/platform-config.yaml" || d.GroupsFile != "groups.yaml" || d.Catalog != "apps" || d.AppSets != "appsets" || d.AppSetsGenerated != nil {
		t.Errorf("descriptor: %+v", d)
	}
	if inf.Order != "the groups file's order" {
		t.Errorf("order from %q", inf.Order)
	}
	var sets []string
	for _, s := range inf.AppSets {
		sets = append(sets, s.Layer+"="+s.Name+"@"+s.File)
	}
	if got := strings.Join(sets, " "); got != "core=edge-core@clusters/team/appsets/edge-core.yaml inference=edge-inference@clusters/team/appsets/edge-inference.yaml gateway=edge-gateway@clusters/team/appsets/edge-gateway.yaml" {
		t.Errorf("ApplicationSets: %s", got)
	}
	wantRead := []string{"config/platform-config.yaml", "clusters/team/appsets/kustomization.yaml", "clusters/team/appsets/project.yaml", "clusters/team/appsets/edge-core.yaml",
		"clusters/team/appsets/edge-inference.yaml", "clusters/team/appsets/edge-gateway.yaml", "clusters/team/groups.yaml", "clusters/team/apps/"}
	if !reflect.DeepEqual(inf.Read, wantRead) {
		t.Errorf("read %q", inf.Read)
	}
	notes := strings.Join(inf.Notes, "\n")
	for _, want := range []string{
		"core (always on; the config has no feature for them and they are enabled now): base, models, gateway",
		"4 manual-sync app(s) have no gate annotation", "add costgate.aidev.io/gate and costgate.aidev.io/cost-per-hour to: apps/models/llama-8b.yaml, apps/gpu-models/llama-70b.yaml, apps/gpu-models/mixtral.yaml, apps/demos/demo-chat.yaml",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes do not say %q:\n%s", want, notes)
		}
	}
	if len(inf.Notes) != 2 {
		t.Errorf("notes: %q", inf.Notes)
	}

	// The same meaning as the fixture's own descriptor.
	inferred, committed := inf.Loaded, loadTeam(t, adopt)
	if !reflect.DeepEqual(inferred.Resolve(), committed.Resolve()) {
		t.Errorf("groups:\n%+v\nwant\n%+v", inferred.Resolve(), committed.Resolve())
	}
	if stale, err := inferred.StaleFiles(); err != nil || len(stale) != 0 {
		t.Errorf("stale: %v %+v", err, stale)
	}
	for _, p := range committed.Profiles() {
		q, err := inferred.Profile(p.Name)
		if err != nil || !reflect.DeepEqual(q.Layers, p.Layers) {
			t.Errorf("profile %s: %v %v", p.Name, q, err)
		}
		want, _ := committed.ExpectedApps(p)
		got, _ := inferred.ExpectedApps(q)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("profile %s apps:\n%+v\nwant\n%+v", p.Name, got, want)
		}
	}
	if got := fmt.Sprint(inferred.Features()); got != "[demos gpu-models monitoring ui]" {
		t.Errorf("features %s", got)
	}
}

// init writes platform.yaml and nothing else, atomically; again, it refuses
// without force and changes nothing; with force it replaces it.
func TestInferWritesOnlyTheDescriptor(t *testing.T) {
	root := withoutDescriptor(t, nil)
	before := platformtest.Checksums(t, root)
	inf := inferTeam(t, root)
	if got := platformtest.Checksums(t, root); !reflect.DeepEqual(got, before) {
		t.Fatalf("Infer changed the tree")
	}
	if err := inf.Write(false); err != nil {
		t.Fatal(err)
	}
	after := platformtest.Checksums(t, root)
	written := after["clusters/team/platform.yaml"]
	delete(after, "clusters/team/platform.yaml")
	if written == "" || !reflect.DeepEqual(after, before) {
		t.Errorf("init changed more than platform.yaml:\nbefore %v\nafter %v", before, after)
	}
	if got, _ := os.ReadFile(inf.Path); string(got) != string(inf.Content) {
		t.Errorf("wrote:\n%s", got)
	}
	if _, err := platform.Load(filepath.Join(root, "clusters"), "team"); err != nil {
		t.Errorf("the written descriptor does not load: %v", err)
	}

	snap := platformtest.Snapshot(t, root)
	var exists *platform.DescriptorExistsError
	if err := inf.Write(false); !errors.As(err, &exists) || exists.Path != inf.Path || !strings.Contains(err.Error(), "pass --force") {
		t.Errorf("second write: %v", err)
	}
	if err := platform.CheckNoDescriptor(filepath.Join(root, "clusters"), "team"); !errors.As(err, &exists) {
		t.Errorf("CheckNoDescriptor: %v", err)
	}
	platformtest.Unchanged(t, root, snap)

	if err := inf.Write(true); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(inf.Path)
	if err != nil || fi.ModTime().Equal(snap[inf.Path].ModTime) || fi.Mode().Perm() != 0o644 {
		t.Errorf("--force did not rewrite it: %v %v", fi, err)
	}
	entries, _ := os.ReadDir(inf.EnvDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// clusters/sandbox and ai-dev, their descriptors removed: init agrees with the
// committed one on layers, groups, features and defaults, but for what the
// tree cannot say: a group not in the config is inferred core when enabled
// (default false when not) where the committed descriptor says default: true,
// settings and conditions are people's to write, and the profiles are one per
// layer where the committed ones bundle routing with llm-gateway and
// experience with demos (and name the widest full).
func TestInferSandboxAgreesWithItsDescriptor(t *testing.T) {
	for _, name := range []string{"sandbox", "ai-dev"} {
		t.Run(name, func(t *testing.T) {
			dir := platformtest.CopyEnv(t, clusters, name, nil)
			if err := os.Remove(filepath.Join(dir, name, platform.DescriptorFile)); err != nil {
				t.Fatal(err)
			}
			inf, err := platform.Infer(dir, name, "", platform.HostKubectl)
			if err != nil {
				t.Fatal(err)
			}
			if name == "sandbox" {
				golden.Assert(t, "testdata/infer/sandbox.platform.yaml", inf.Content)
			}
			committed := load(t, name)
			got, want := inf.Descriptor, committed.Descriptor
			if got.Project != want.Project || got.GroupsFile != want.GroupsFile || got.Catalog != want.Catalog || got.AppSets != want.AppSets ||
				got.Config != "" || got.AppSetsGenerated != nil || got.Name != want.Name {
				t.Errorf("fields: %+v", got)
			}
			var diffs []string
			for i, l := range want.Layers {
				if i >= len(got.Layers) || got.Layers[i].Name != l.Name {
					diffs = append(diffs, "layer "+l.Name)
					continue
				}
				for j, g := range l.Groups {
					h := inf.Loaded.Descriptor.Layers[i].Groups[j] // defaults filled in, as committed's
					// What init can infer: not the conditions, needs and warnings people write.
					type inferable struct {
						Name, Feature string
						Core, Default bool
					}
					hi, gi := inferable{h.Name, h.Feature, h.Core, h.Default}, inferable{g.Name, g.Feature, g.Core, g.Default}
					if hi != gi {
						diffs = append(diffs, fmt.Sprintf("%+v != %+v", hi, gi))
					}
				}
			}
			// What the tree cannot say: a group on with no feature in the config
			// reads as core; a group off with no feature, or one the config names
			// (the sandbox's costgate-watcher: true), as default false.
			wantDiffs := map[string]string{
				"sandbox": "{Name:gpu-operator Feature: Core:true Default:false} != {Name:gpu-operator Feature:gpu-operator Core:false Default:true}; " +
					"{Name:costgate-watcher Feature:costgate-watcher Core:false Default:false} != {Name:costgate-watcher Feature:costgate-watcher Core:false Default:true}",
				"ai-dev": "{Name:autoscaling Feature: Core:true Default:false} != {Name:autoscaling Feature:autoscaling Core:false Default:true}; " +
					"{Name:gpu-operator Feature:gpu-operator Core:false Default:false} != {Name:gpu-operator Feature:gpu-operator Core:false Default:true}; " +
					"{Name:costgate-watcher Feature: Core:true Default:false} != {Name:costgate-watcher Feature:costgate-watcher Core:false Default:true}; " +
					"{Name:kserve Feature: Core:true Default:false} != {Name:kserve Feature:kserve Core:false Default:true}; " +
					"{Name:embeddings Feature: Core:true Default:false} != {Name:embeddings Feature:embeddings Core:false Default:true}",
			}
			if got := strings.Join(diffs, "; "); got != wantDiffs[name] {
				t.Errorf("groups differ: %s", got)
			}
			if !reflect.DeepEqual(inf.Loaded.Resolve(), committed.Resolve()) {
				t.Errorf("the inferred descriptor resolves otherwise")
			}
			var profiles []string
			for _, p := range inf.Loaded.Profiles() {
				profiles = append(profiles, p.Name+"="+strings.Join(p.Layers, ","))
			}
			if got := strings.Join(profiles, " "); got != "platform=platform serving=platform,serving routing=platform,serving,routing "+
				"llm-gateway=platform,serving,routing,llm-gateway experience=platform,serving,routing,llm-gateway,experience "+
				"demos=platform,serving,routing,llm-gateway,experience,demos" {
				t.Errorf("profiles: %s", got)
			}
			if stale, err := inf.Loaded.StaleFiles(); err != nil || len(stale) != 0 {
				t.Errorf("stale: %v %v", err, stale)
			}
			wantCore := map[string]string{
				"sandbox": "platform-core, gpu-operator, serving-core, routing-core, llm-gateway-core",
				"ai-dev":  "platform-core, autoscaling, costgate-watcher, serving-core, kserve, embeddings, routing-core, llm-gateway-core",
			}
			if len(inf.Unannotated) != 0 || len(inf.Notes) != 1 || !strings.Contains(inf.Notes[0], wantCore[name]) {
				t.Errorf("notes: %q", inf.Notes)
			}
		})
	}
}

// Without kustomization.yaml, the folder of YAML files that holds the
// ApplicationSets is the appsets folder.
func TestInferPlainFolder(t *testing.T) {
	root := withoutDescriptor(t, nil)
	if err := os.Remove(filepath.Join(root, "clusters", "team", "appsets", "kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	inf := inferTeam(t, root)
	if inf.Descriptor.AppSets != "appsets" || len(inf.AppSets) != 3 || inf.Read[1] != "clusters/team/appsets/edge-core.yaml" || inf.Read[4] != "clusters/team/appsets/project.yaml" {
		t.Errorf("%+v %q", inf.Descriptor, inf.Read)
	}
}

// Sync waves on the ApplicationSets order the layers; when they disagree with
// the groups file, init says resolve would reorder it, and that it is stale.
func TestInferSyncWaves(t *testing.T) {
	wave := func(n string) platformtest.Edit {
		return platformtest.Replace(t, "kind: ApplicationSet\nmetadata:\n", "kind: ApplicationSet\nmetadata:\n  annotations: {argocd.argoproj.io/sync-wave: \""+n+"\"}\n")
	}
	root := withoutDescriptor(t, map[string]platformtest.Edit{
		"clusters/team/appsets/edge-core.yaml":    wave("-1"),
		"clusters/team/appsets/edge-gateway.yaml": wave("1"),
		// edge-inference has none: wave 0
	})
	inf := inferTeam(t, root)
	if got := strings.Join(inf.Loaded.LayerNames(), ","); got != "core,inference,gateway" || !strings.Contains(inf.Order, "sync waves") {
		t.Errorf("layers %s from %s", got, inf.Order)
	}
	if len(inf.Notes) != 2 {
		t.Errorf("notes: %q", inf.Notes)
	}

	root = withoutDescriptor(t, map[string]platformtest.Edit{
		"clusters/team/appsets/edge-gateway.yaml": wave("-5"),
	})
	inf = inferTeam(t, root)
	if got := strings.Join(inf.Loaded.LayerNames(), ","); got != "gateway,core,inference" {
		t.Errorf("layers %s", got)
	}
	notes := strings.Join(inf.Notes, "\n")
	for _, want := range []string{"the sync waves order the layers gateway, core, inference, the groups file core, inference, gateway",
		"clusters/team/groups.yaml does not mean what kubectl profile resolve would write", "resolve --check fails"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes do not say %q:\n%s", want, notes)
		}
	}
	if !strings.Contains(string(inf.Content), "layers: # bring-up order, from the ApplicationSets' sync waves") {
		t.Errorf("descriptor:\n%s", inf.Content)
	}
}

// A groups file that is stale against the config: init still writes the
// descriptor, and says resolve --check will fail, with the diff and what to do.
func TestInferStaleGroupsFile(t *testing.T) {
	root := withoutDescriptor(t, map[string]platformtest.Edit{
		"config/platform-config.yaml": platformtest.Replace(t, "  gpu-models: true", "  gpu-models: false"),
	})
	inf := inferTeam(t, root)
	notes := strings.Join(inf.Notes, "\n")
	for _, want := range []string{"clusters/team/groups.yaml does not mean what kubectl profile resolve would write from the config",
		`+   enabled: "false"`, "if resolve should own it from now on, delete it"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes do not say %q:\n%s", want, notes)
		}
	}
}

// A config with a space in its path, and the config in the default place.
func TestInferConfigPath(t *testing.T) {
	root := withoutDescriptor(t, nil)
	spaced := filepath.Join(root, "shared config", "platform: config.yaml")
	if err := os.MkdirAll(filepath.Dir(spaced), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "config", "platform-config.yaml"), spaced); err != nil {
		t.Fatal(err)
	}
	inf, err := platform.Infer(filepath.Join(root, "clusters"), "team", spaced, platform.HostKubectl)
	if err != nil {
		t.Fatal(err)
	}
	if inf.Descriptor.Config != "../../shared config/platform: config.yaml" || !strings.Contains(string(inf.Content), `config: "../../shared config/platform: config.yaml"`) {
		t.Errorf("config %q:\n%s", inf.Descriptor.Config, inf.Content)
	}
	if err := os.Rename(spaced, filepath.Join(root, "clusters", "team", "config.yaml")); err != nil {
		t.Fatal(err)
	}
	inf, err = platform.Infer(filepath.Join(root, "clusters"), "team", "", platform.HostKubectl)
	if err != nil || inf.Descriptor.Config != "" || strings.Contains(string(inf.Content), "config:") {
		t.Errorf("default config: %v %+v", err, inf)
	}
}

func TestInferFeatureMatching(t *testing.T) {
	// gpu_models is gpu-models in other words.
	root := withoutDescriptor(t, map[string]platformtest.Edit{
		"config/platform-config.yaml": platformtest.Replace(t, "  gpu-models: true", "  gpu_models: true"),
	})
	inf := inferTeam(t, root)
	if g := inf.Descriptor.Layers[1].Groups[1]; g.Name != "gpu-models" || g.Feature != "gpu_models" {
		t.Errorf("gpu-models: %+v", g)
	}
}

func TestInferCannot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edits  map[string]platformtest.Edit
		config string
		want   []string
	}{
		{"a feature no group has", map[string]platformtest.Edit{
			"config/platform-config.yaml": platformtest.Replace(t, "  ui: true", "  ui: true\n  sso: true")},
			"", []string{"config/platform-config.yaml: features: init cannot tell which group sso switch", "groups no feature names: base, models, gateway"}},
		{"an ambiguous feature", map[string]platformtest.Edit{
			"config/platform-config.yaml": platformtest.Replace(t, "  ui: true", "  ui: true\n  chat-ui-gateway: true")},
			"", []string{"init cannot tell which group chat-ui-gateway (could be gateway or chat-ui) switch", "rename each to the group it switches"}},
		{"no config", nil, "missing.yaml", []string{"no config file", "missing.yaml", "pass --config"}},
		{"a config without repoURL", map[string]platformtest.Edit{
			"config/platform-config.yaml": platformtest.Replace(t, "repoURL: https://git.example.com/team/platform.git\n", "")},
			"", []string{"does not load, so nothing was written", "repoURL: must be set"}},
		{"two groups files", map[string]platformtest.Edit{
			"clusters/team/appsets/edge-gateway.yaml": platformtest.Replace(t, "path: clusters/team/groups.yaml", "path: clusters/team/gateway-groups.yaml")},
			"", []string{"read different groups files", `"clusters/team/gateway-groups.yaml" by edge-gateway`}},
		{"a layer no ApplicationSet selects", map[string]platformtest.Edit{
			"clusters/team/groups.yaml": platformtest.Replace(t, "layer: gateway\n  enabled: \"true\"\n  catalogPath: clusters/team/apps/gateway", "layer: edge\n  enabled: \"true\"\n  catalogPath: clusters/team/apps/gateway")},
			"", []string{"the groups file names layers no ApplicationSet selects: edge (group gateway)"}},
		{"a layer without groups", map[string]platformtest.Edit{
			"clusters/team/groups.yaml": func(s string) string { return strings.ReplaceAll(s, "layer: gateway", "layer: inference") }},
			"", []string{"the groups file has no group of layer(s) gateway (ApplicationSet edge-gateway)"}},
		{"an ApplicationSet of no layer", map[string]platformtest.Edit{
			"clusters/team/appsets/edge-gateway.yaml": platformtest.Replace(t, "layer: gateway, ", "")},
			"", []string{"clusters/team/appsets/edge-gateway.yaml: ApplicationSet edge-gateway: its selector names no layer"}},
		{"a catalog folder named otherwise", map[string]platformtest.Edit{
			"clusters/team/groups.yaml": platformtest.Replace(t, "catalogPath: clusters/team/apps/chat-ui", "catalogPath: clusters/team/apps/ui")},
			"", []string{"catalog folders of group(s) chat-ui (clusters/team/apps/ui) are not named after the group"}},
		{"a templated project", map[string]platformtest.Edit{
			"clusters/team/appsets/edge-core.yaml":      platformtest.Replace(t, "project: team", "project: '{{layer}}'"),
			"clusters/team/appsets/edge-inference.yaml": platformtest.Replace(t, "project: team", "project: '{{layer}}'"),
			"clusters/team/appsets/edge-gateway.yaml":   platformtest.Replace(t, "project: team", "project: '{{layer}}'")},
			"", []string{`template their project ("{{layer}}")`}},
		{"projects that differ", map[string]platformtest.Edit{
			"clusters/team/appsets/edge-core.yaml": platformtest.Replace(t, "project: team", "project: core")},
			"", []string{`different projects ("core" by edge-core; "team" by edge-inference, edge-gateway)`}},
		{"no ApplicationSet", map[string]platformtest.Edit{
			"clusters/team/appsets/kustomization.yaml": platformtest.Replace(t, "- edge-core.yaml\n- edge-inference.yaml\n- edge-gateway.yaml\n", "")},
			"", []string{"clusters/team/appsets renders no ApplicationSet"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := withoutDescriptor(t, tc.edits)
			config := filepath.Join(root, "config", "platform-config.yaml")
			if tc.config != "" {
				config = filepath.Join(root, tc.config)
			}
			before := platformtest.Checksums(t, root)
			_, err := platform.Infer(filepath.Join(root, "clusters"), "team", config, platform.HostKubectl)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !reflect.DeepEqual(platformtest.Checksums(t, root), before) {
				t.Error("the tree changed")
			}
		})
	}
}

// A team that keeps its AppProject in a folder of its own: init finds it
// anywhere in the environment's folder and records that folder as projects:,
// so render (and apply) include it before the ApplicationSets; init still
// writes one file. An AppProject found nowhere is a note: it must be in the
// cluster already.
func TestInferFindsTheAppProjectInAFolderOfItsOwn(t *testing.T) {
	root := withoutDescriptor(t, map[string]platformtest.Edit{
		"clusters/team/appsets/kustomization.yaml": platformtest.Replace(t, "- project.yaml\n", ""),
	})
	team := filepath.Join(root, "clusters", "team")
	if err := os.MkdirAll(filepath.Join(team, "rbac", "projects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(team, "appsets", "project.yaml"), filepath.Join(team, "rbac", "projects", "team.yaml")); err != nil {
		t.Fatal(err)
	}
	inf := inferTeam(t, root)
	if inf.Descriptor.Projects != "rbac/projects" || !strings.Contains(string(inf.Content), "\nprojects: rbac/projects\n") {
		t.Fatalf("projects: %q\n%s", inf.Descriptor.Projects, inf.Content)
	}
	if err := inf.Write(false); err != nil {
		t.Fatal(err)
	}
	env, err := platform.Load(filepath.Join(root, "clusters"), "team")
	if err != nil {
		t.Fatal(err)
	}
	if rendered, err := env.ProjectRendered(); err != nil || !rendered {
		t.Errorf("the written descriptor does not render AppProject team: %v %v", rendered, err)
	}
	p, err := env.Profile("inference")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := env.ProfileObjects(p)
	if err != nil || len(objs) != 3 || objs[0].GetKind() != platform.KindAppProject {
		t.Errorf("the AppProject is not applied first: %v", err)
	}

	if err := os.RemoveAll(filepath.Join(team, "rbac")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(team, platform.DescriptorFile)); err != nil {
		t.Fatal(err)
	}
	inf = inferTeam(t, root)
	if inf.Descriptor.Projects != "" || !strings.Contains(strings.Join(inf.Notes, "\n"), "AppProject team, which clusters/team/appsets does not render") {
		t.Errorf("projects %q, notes %q", inf.Descriptor.Projects, inf.Notes)
	}
}

// A tree whose catalog Applications all deploy to one cluster of the hub's
// Argo CD (destination.name edge-prod): init writes cluster.hub with that
// destination and asks for the contexts it cannot know; the file loads.
func TestInferAHubsSpoke(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(adopt, "clusters", "team", "apps", "*", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatal(err, files)
	}
	edits := map[string]platformtest.Edit{}
	for _, f := range files {
		rel, _ := filepath.Rel(adopt, f)
		edits[rel] = func(s string) string {
			return strings.ReplaceAll(s, "server: https://kubernetes.default.svc", "name: edge-prod")
		}
	}
	inf := inferTeam(t, withoutDescriptor(t, edits))
	c := inf.Descriptor.Cluster
	if c == nil || c.Hub == nil || c.Hub.Destination != "edge-prod" || c.Context != "" {
		t.Fatalf("cluster: %+v, want hub.destination edge-prod and no context", c)
	}
	if !strings.Contains(string(inf.Content), "cluster:\n  hub: # add context: the hub's kubeconfig context\n    destination: edge-prod") {
		t.Errorf("platform.yaml lacks the cluster block:\n%s", inf.Content)
	}
	notes := strings.Join(inf.Notes, "\n")
	if !strings.Contains(notes, "deploy to the cluster name edge-prod of the hub's Argo CD") || !strings.Contains(notes, "add cluster.context") {
		t.Errorf("notes do not ask for the contexts:\n%s", notes)
	}
	if !inf.Loaded.Spoke() {
		t.Error("the written descriptor does not load as a spoke")
	}
}
