package platform_test

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

const clusters = "../../clusters"

func load(t *testing.T, env string) *platform.Env {
	t.Helper()
	e, err := platform.Load(clusters, env)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestLoadsBothEnvironments(t *testing.T) {
	for _, name := range []string{"ai-dev", "sandbox"} {
		e := load(t, name)
		if got := strings.Join(e.LayerNames(), ","); got != "platform,serving,routing,llm-gateway,experience,demos" {
			t.Errorf("%s layers: %s", name, got)
		}
		full, err := e.Profile("full")
		if err != nil || len(full.Layers) != 6 {
			t.Errorf("%s profile full: %v %v", name, full, err)
		}
		llm, _ := e.Profile("llm-gateway")
		if got := strings.Join(llm.Layers, ","); got != "platform,serving,routing,llm-gateway" {
			t.Errorf("%s profile llm-gateway layers: %s", name, got)
		}
		gated := map[string]platform.GateKind{}
		for _, a := range e.Apps {
			if a.Gate != nil {
				gated[a.Name] = a.Gate.Kind
				if a.Automated {
					t.Errorf("%s: gated app %s is auto-sync", name, a.Name)
				}
			}
		}
		want := map[string]platform.GateKind{
			"raw-vllm": "scale", "coder-chat": "scale", "coder-fim": "scale", "coder-agent": "scale",
			"kserve-demo": "pause", "inference-demo": "sync", "n8n": "sync", "llm-d": "sync",
		}
		if name == "sandbox" { // and two of its own: a StatefulSet and a custom resource
			want["vector-store"], want["batch-embedder"] = "scale", "scale"
		}
		if len(gated) != len(want) {
			t.Errorf("%s gated apps: %v, want %v", name, gated, want)
		}
		for app, kind := range want {
			if gated[app] != kind {
				t.Errorf("%s: %s gate %q, want %q", name, app, gated[app], kind)
			}
		}
	}
}

// The committed generated files match config.yaml in every environment (what
// `resolve --check` enforces in CI).
func TestCommittedGeneratedFilesAreFresh(t *testing.T) {
	for _, name := range []string{"ai-dev", "sandbox"} {
		stale, err := load(t, name).StaleFiles()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stale {
			t.Errorf("%s is stale (run kubectl profile resolve --env %s):\n%s", s.Path, name, s.Diff)
		}
	}
}

func TestResolveGolden(t *testing.T) {
	e := load(t, "ai-dev")
	all := e.Features()
	set := func(on ...string) map[string]bool {
		m := map[string]bool{}
		for _, f := range all {
			m[f] = false
		}
		for _, f := range on {
			m[f] = true
		}
		return m
	}
	cases := map[string]map[string]bool{
		"all-on":    set(all...),
		"core-only": set(),
		"defaults":  {}, // no feature named: each group's default
	}
	for _, f := range all {
		cases["only-"+f] = set(f)
	}
	for name, features := range cases {
		t.Run(name, func(t *testing.T) {
			e.Config.Features = features
			out, err := yaml.Marshal(e.Resolve())
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "testdata/resolve/"+name+".yaml", out)
			// Deterministic: the same input gives the same bytes.
			again, _ := yaml.Marshal(e.Resolve())
			if string(again) != string(out) {
				t.Error("resolve is not deterministic")
			}
		})
	}
}

func TestRenderGolden(t *testing.T) {
	e := load(t, "ai-dev")
	for _, p := range e.Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			objs, err := e.ProfileObjects(p)
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			if err := printers.Objects(&sb, "yaml", objs); err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, "testdata/render/"+p.Name+".yaml", []byte(sb.String()))
		})
	}
}

func TestUnknownProfileListsTheValidOnes(t *testing.T) {
	_, err := load(t, "ai-dev").Profile("everything")
	if err == nil || !strings.Contains(err.Error(), `unknown profile "everything"`) || !strings.Contains(err.Error(), "platform, serving, llm-gateway, full") {
		t.Fatalf("got %v", err)
	}
}

func TestBadEnvironmentsSayWhatAndWhere(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string]platformtest.Edit
		want  []string
	}{
		{"unknown feature", map[string]platformtest.Edit{"config.yaml": platformtest.Replace(t, "demos: true", "demos: true\n  gpus: true")},
			[]string{"config.yaml", "features", `unknown feature(s) gpus`, "known: autoscaling"}},
		{"malformed config", map[string]platformtest.Edit{"config.yaml": platformtest.Replace(t, "namespace: argocd", "namespace: [argocd")},
			[]string{"config.yaml", "line"}},
		{"malformed descriptor", map[string]platformtest.Edit{"platform.yaml": platformtest.Replace(t, "project: platform", "project: platform\n  bad: [")},
			[]string{"platform.yaml", "line"}},
		{"unknown descriptor field", map[string]platformtest.Edit{"platform.yaml": platformtest.Replace(t, "catalog: catalog", "catalogue: catalog")},
			[]string{"platform.yaml", `unknown field "catalogue"`}},
		{"duplicate group", map[string]platformtest.Edit{"platform.yaml": platformtest.Replace(t, "  - {name: guardrails}", "  - {name: guardrails}\n  - {name: kserve}")},
			[]string{"platform.yaml", "layers[3].groups[2].name", `group "kserve" is listed twice (also in layer "serving")`}},
		{"missing catalog folder", map[string]platformtest.Edit{"platform.yaml": platformtest.Replace(t, "  - {name: guardrails}", "  - {name: guardrails}\n  - {name: safety}")},
			[]string{`group "safety"`, "has no catalog folder", "catalog/safety"}},
		{"profile with unknown layer", map[string]platformtest.Edit{"platform.yaml": platformtest.Replace(t, "layers: [experience, demos]", "layers: [experience, demo]")},
			[]string{"platform.yaml", "profiles[3].layers", `unknown layer "demo"`}},
		{"profile extends unknown", map[string]platformtest.Edit{"platform.yaml": platformtest.Replace(t, "extends: llm-gateway", "extends: gateway")},
			[]string{"profiles[3].extends", `unknown profile "gateway"`}},
		{"gate with a bad cost", map[string]platformtest.Edit{"catalog/serving-core/raw-vllm.yaml": platformtest.Replace(t, `cost-per-hour: "0.80"`, `cost-per-hour: "cheap"`)},
			[]string{"raw-vllm.yaml", "costgate.aidev.io/cost-per-hour", `"cheap" is not a non-negative number`}},
		{"scale gate on a kind without its group", map[string]platformtest.Edit{"catalog/serving-core/raw-vllm.yaml": platformtest.Replace(t, "target: Deployment/serving/raw-vllm", "target: LeaderWorkerSet/serving/raw-vllm")},
			[]string{"raw-vllm.yaml", "costgate.aidev.io/target", "name the API group of kind LeaderWorkerSet", "LeaderWorkerSet.<group>/serving/raw-vllm"}},
		{"scale gate with an empty group", map[string]platformtest.Edit{"catalog/serving-core/raw-vllm.yaml": platformtest.Replace(t, "target: Deployment/serving/raw-vllm", "target: Deployment./serving/raw-vllm")},
			[]string{"raw-vllm.yaml", `"Deployment./serving/raw-vllm" is not Kind[.group]/namespace/name`}},
		{"pause gate on another kind", map[string]platformtest.Edit{"catalog/demos/kserve-demo.yaml": platformtest.Replace(t, "target: InferenceService/", "target: StatefulSet/")},
			[]string{"kserve-demo.yaml", "a pause gate targets an InferenceService, not a StatefulSet"}},
		{"gate with a bad uptime", map[string]platformtest.Edit{"catalog/serving-core/raw-vllm.yaml": platformtest.Replace(t, `cost-per-hour: "0.80"`, `cost-per-hour: "0.80"`+"\n    costgate.aidev.io/uptime: Mon-Fri 07:00-20:00 Europe/Berln")},
			[]string{"raw-vllm.yaml", "Application raw-vllm", `annotation costgate.aidev.io/uptime: range 1 "Mon-Fri 07:00-20:00 Europe/Berln": unknown time zone "Europe/Berln"`}},
		{"gate with a bad max-open", map[string]platformtest.Edit{"catalog/serving-core/raw-vllm.yaml": platformtest.Replace(t, `cost-per-hour: "0.80"`, `cost-per-hour: "0.80"`+"\n    costgate.aidev.io/max-open: 2days")},
			[]string{"raw-vllm.yaml", "Application raw-vllm", `annotation costgate.aidev.io/max-open: "2days" is not a duration such as 8h`}},
		{"argocd minVersion not a version", map[string]platformtest.Edit{"platform.yaml": platformtest.Replace(t, "minVersion: v3.0.0", "minVersion: latest")},
			[]string{"platform.yaml", "argocd.minVersion", `"latest" is not a version like v3.0.0`}},
		{"no repoURL", map[string]platformtest.Edit{"config.yaml": platformtest.Replace(t, "repoURL: file:///KP_SANDBOX_REPO", "")},
			[]string{"config.yaml", "repoURL: must be set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := platformtest.CopyEnv(t, clusters, "sandbox", tc.edits)
			_, err := platform.Load(dir, "sandbox")
			if err == nil {
				t.Fatal("loaded without error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestEnvSelection(t *testing.T) {
	if _, err := platform.Load(clusters, ""); err == nil || !strings.Contains(err.Error(), "several environments (ai-dev, sandbox, sandbox-spoke): choose one with --env") {
		t.Errorf("no --env with several environments: %v", err)
	}
	if _, err := platform.Load(clusters, "prod"); err == nil || !strings.Contains(err.Error(), `unknown environment "prod"`) || !strings.Contains(err.Error(), "known: ai-dev, sandbox, sandbox-spoke") {
		t.Errorf("unknown env: %v", err)
	}
	one := platformtest.CopyEnv(t, clusters, "sandbox", nil)
	e, err := platform.Load(one, "")
	if err != nil || e.Name != "sandbox" {
		t.Errorf("the only environment should be the default: %v %v", e, err)
	}
}

func TestExpectedAppsFollowFeatures(t *testing.T) {
	e := load(t, "sandbox")
	p, _ := e.Profile("platform")
	names := func() string {
		var out []string
		apps, err := e.ExpectedApps(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			out = append(out, a.Name)
		}
		return strings.Join(out, ",")
	}
	if !strings.Contains(names(), "group-opencost,opencost") {
		t.Fatalf("opencost on: %s", names())
	}
	e.Config.Features["opencost"] = false
	if strings.Contains(names(), "opencost") {
		t.Errorf("opencost off, still expected: %s", names())
	}
}

// clusters/ai-dev is the real platform: its 56 Applications, group by group,
// as the platform's own inventory lists them, and the costgate-watcher.
func TestAiDevHoldsTheRealPlatform(t *testing.T) {
	want := map[string][]string{
		"platform-core":    {"argo-cd", "cert-manager", "dcgm-metrics", "external-secrets", "external-secrets-config", "gateway-api-crds", "grafana-dashboards", "kueue", "kueue-config", "observability"},
		"autoscaling":      {"keda"},
		"identity":         {"argocd-oidc-secret", "dex", "oauth2-proxy"},
		"dns":              {"external-dns"},
		"security":         {"kyverno", "kyverno-policies", "network-policies"},
		"opencost":         {"opencost"},
		"gpu-operator":     {"nvidia-gpu-operator"},
		"costgate-watcher": {"costgate-watcher"},
		"serving-core":     {"raw-vllm", "serving-secrets"},
		"kserve":           {"kserve", "kserve-crd", "kserve-llmisvc", "kserve-llmisvc-crd", "kserve-llmisvc-presets"},
		"embeddings":       {"embeddings"},
		"coding-assistant": {"coder-agent", "coder-chat", "coder-fim"},
		"llm-d":            {"llm-d"},
		"routing-core":     {"agentgateway", "agentgateway-crds", "inference-gateway", "inference-pool-raw-vllm", "inference-routing-real"},
		"public-edge":      {"edge"},
		"mcp-gateway":      {"mcp-gateway"},
		"egress":           {"inference-egress-external"},
		"llm-gateway-core": {"cloudnative-pg", "grafana-litellm", "litellm", "litellm-bootstrap"},
		"guardrails":       {"presidio"},
		"experience":       {"key-portal", "litellm-keys", "open-webui", "tabby"},
		"n8n":              {"n8n"},
		"demos":            {"inference-demo", "inference-pool", "inference-pool-model-b-canary", "inference-pool-model-b-stable", "kserve-demo", "kueue-tenants"},
	}
	e := load(t, "ai-dev")
	got := map[string][]string{}
	for _, a := range e.Apps {
		got[a.Group] = append(got[a.Group], a.Name)
	}
	total := 0
	for group, apps := range want {
		total += len(apps)
		g := slices.Sorted(slices.Values(got[group]))
		if !slices.Equal(g, apps) {
			t.Errorf("group %s: %v, want %v", group, g, apps)
		}
	}
	if len(e.Apps) != total || total != 57 {
		t.Errorf("%d apps, want %d (57)", len(e.Apps), total)
	}
}

// The costgate-watcher group is on in ai-dev although its config.yaml does not
// name it (default: true), and `features: {costgate-watcher: false}` turns it
// off: its group app and the watcher drop out of the platform profile.
func TestCostgateWatcherIsOnUnlessTheConfigSaysFalse(t *testing.T) {
	e := load(t, "ai-dev")
	if _, named := e.Config.Features["costgate-watcher"]; named {
		t.Fatal("ai-dev's config.yaml names costgate-watcher: the default is not what is tested")
	}
	p, _ := e.Profile("platform")
	names := func() []string {
		apps, err := e.ExpectedApps(p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range apps {
			out = append(out, a.Name)
		}
		return out
	}
	if got := names(); !slices.Contains(got, "group-costgate-watcher") || !slices.Contains(got, "costgate-watcher") {
		t.Fatalf("costgate-watcher by default: %v", got)
	}
	e.Config.Features["costgate-watcher"] = false
	if got := names(); slices.ContainsFunc(got, func(n string) bool { return strings.Contains(n, "costgate-watcher") }) {
		t.Errorf("costgate-watcher: false, still expected: %v", got)
	}
	for _, g := range e.Resolve() {
		if g.Name == "costgate-watcher" && (g.Enabled != "false" || g.Layer != "platform") {
			t.Errorf("resolved %+v", g)
		}
	}
}
