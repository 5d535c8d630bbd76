package costgate_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

const clusters = "../../clusters"

func TestLintPassesOnTheCommittedEnvironments(t *testing.T) {
	for _, name := range []string{"ai-dev", "sandbox", "sandbox-spoke"} {
		env, err := platform.Load(clusters, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range costgate.Lint(env) {
			t.Errorf("%s: %s", name, f)
		}
	}
}

func TestLintFindsEachBrokenInvariant(t *testing.T) {
	const rawVLLM = "catalog/serving-core/raw-vllm.yaml"
	for _, tc := range []struct {
		name  string
		edits func(t *testing.T) map[string]platformtest.Edit
		app   string
		check string
		file  string
		want  string
	}{
		{"gated app made auto-sync", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{rawVLLM: platformtest.Replace(t, "  syncPolicy:\n", "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n")}
		}, "raw-vllm", costgate.CheckManual, rawVLLM, "remove spec.syncPolicy.automated"},
		{"replicas not ignored", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{rawVLLM: platformtest.Replace(t, "jsonPointers: [/spec/replicas]", "jsonPointers: [/spec/template]")}
		}, "raw-vllm", costgate.CheckIgnoreReplicas, rawVLLM, "jsonPointers: [/spec/replicas]"},
		{"ignoreDifferences on another Deployment", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{rawVLLM: platformtest.Replace(t, "    name: raw-vllm\n", "    name: other\n")}
		}, "raw-vllm", costgate.CheckIgnoreReplicas, rawVLLM, "name: raw-vllm, namespace: serving"},
		{"RespectIgnoreDifferences missing", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{rawVLLM: platformtest.Replace(t, ", RespectIgnoreDifferences=true", "")}
		}, "raw-vllm", costgate.CheckRespectIgnore, rawVLLM, "add RespectIgnoreDifferences=true"},
		{"KEDA not paused", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{"workloads/raw-vllm/scaledobject.yaml": platformtest.Replace(t, `autoscaling.keda.sh/paused: "true"`, `autoscaling.keda.sh/paused: "false"`)}
		}, "raw-vllm", costgate.CheckKEDAPaused, rawVLLM, "workloads/raw-vllm/scaledobject.yaml"},
		{"paused InferenceService under a selfHeal app", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{"catalog/kserve/kserve.yaml": platformtest.Replace(t, "path: clusters/sandbox/workloads/kserve", "path: clusters/sandbox/workloads/kserve-demo")}
		}, "kserve-demo", costgate.CheckSelfHealPause, "catalog/demos/kserve-demo.yaml", "deploy InferenceService/kserve/qwen-cpu only from kserve-demo"},
		{"target owned by another app", func(t *testing.T) map[string]platformtest.Edit {
			// Another gate (an ungated one would also be a GPU leak: its own finding).
			return map[string]platformtest.Edit{"catalog/coding-assistant/coder-chat.yaml": platformtest.Replace(t,
				"path: clusters/sandbox/workloads/coder-chat\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: coding-assistant",
				"path: clusters/sandbox/workloads/raw-vllm\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: serving")}
		}, "raw-vllm", costgate.CheckSingleOwner, rawVLLM, "deploy Deployment/serving/raw-vllm only from raw-vllm"},
		{"max-replicas not a number", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{rawVLLM: platformtest.Replace(t, `    costgate.aidev.io/replicas: "1"`+"\n", `    costgate.aidev.io/replicas: "1"`+"\n"+`    costgate.aidev.io/max-replicas: "lots"`+"\n")}
		}, "raw-vllm", costgate.CheckMaxReplicas, rawVLLM, `set costgate.aidev.io/max-replicas to a positive whole number, for example "8"`},
		{"replicas above max-replicas", func(t *testing.T) map[string]platformtest.Edit {
			return map[string]platformtest.Edit{rawVLLM: platformtest.Replace(t, `    costgate.aidev.io/replicas: "1"`+"\n", `    costgate.aidev.io/replicas: "3"`+"\n"+`    costgate.aidev.io/max-replicas: "2"`+"\n")}
		}, "raw-vllm", costgate.CheckMaxReplicas, rawVLLM, "the gate opens at 3 replicas, above its maximum of 2: up would refuse it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := platformtest.CopyEnv(t, clusters, "sandbox", tc.edits(t))
			env, err := platform.Load(dir, "sandbox")
			if err != nil {
				t.Fatal(err)
			}
			findings := costgate.Lint(env)
			var hit *costgate.Finding
			for i, f := range findings {
				if f.Check == tc.check && f.App == tc.app {
					hit = &findings[i]
				}
			}
			if hit == nil {
				t.Fatalf("no %s finding for %s; got %v", tc.check, tc.app, findings)
			}
			if !strings.HasSuffix(hit.File, tc.file) || hit.Severity != costgate.Error {
				t.Errorf("finding names %s (%s), want %s (error)", hit.File, hit.Severity, tc.file)
			}
			if !strings.Contains(hit.Fix+" "+hit.Message, tc.want) {
				t.Errorf("finding does not say %q: %s", tc.want, hit)
			}
			if len(findings) != 1 {
				t.Errorf("want exactly this finding, got %d: %v", len(findings), findings)
			}
		})
	}
}

// The adopted tree of pkg/platform/testdata/adopt: its manual-sync apps have
// no gate annotation. Each is a warning naming the file and the annotations to
// add; an annotated one is a gate, and an auto-sync one no finding.
func TestLintWarnsAboutManualSyncAppsWithoutAGate(t *testing.T) {
	env, err := platform.Load("../platform/testdata/adopt/clusters", "team")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range costgate.Lint(env) {
		if f.Severity != costgate.Warning || f.Check != costgate.CheckUngated ||
			!strings.Contains(f.Fix, "costgate.aidev.io/gate: sync") || !strings.Contains(f.Fix, "costgate.aidev.io/cost-per-hour") ||
			!strings.Contains(f.Message, "costgate list, its cost and idle do not see it") {
			t.Errorf("finding: %s", f)
		}
		got = append(got, f.App+"@"+strings.TrimPrefix(f.File, "../platform/testdata/adopt/clusters/team/"))
	}
	want := "demo-chat@apps/demos/demo-chat.yaml llama-70b@apps/gpu-models/llama-70b.yaml mixtral@apps/gpu-models/mixtral.yaml llama-8b@apps/models/llama-8b.yaml"
	if strings.Join(got, " ") != want {
		t.Errorf("findings:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if ungated := env.UngatedApps(); len(ungated) != 4 || len(costgate.Gated(env)) != 0 {
		t.Errorf("ungated %d, gated %d", len(ungated), len(costgate.Gated(env)))
	}

	root := platformtest.CopyTree(t, "../platform/testdata/adopt", map[string]platformtest.Edit{
		"clusters/team/apps/gpu-models/mixtral.yaml": platformtest.Replace(t, "  name: mixtral\n",
			"  name: mixtral\n  annotations:\n    costgate.aidev.io/gate: sync\n    costgate.aidev.io/cost-per-hour: \"4.10\"\n"),
		"clusters/team/apps/demos/demo-chat.yaml": platformtest.Replace(t, "  syncPolicy:\n", "  syncPolicy:\n    automated: {}\n"),
	})
	env, err = platform.Load(root+"/clusters", "team")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, f := range costgate.Lint(env) {
		got = append(got, f.App+":"+f.Severity)
	}
	if strings.Join(got, " ") != "llama-70b:warning llama-8b:warning" {
		t.Errorf("after annotating mixtral and auto-syncing demo-chat: %v", got)
	}
}

// An auto-sync app that deploys pods asking for a GPU is a cost leak.
func TestLintFindsAnUngatedGPU(t *testing.T) {
	dir := platformtest.CopyEnv(t, "../../clusters", "sandbox", map[string]platformtest.Edit{
		"catalog/llm-d/llm-d.yaml": func(s string) string {
			s = platformtest.Replace(t, "    costgate.aidev.io/gate: sync\n", "")(s)
			s = platformtest.Replace(t, "    costgate.aidev.io/cost-per-hour: \"1.40\"\n    costgate.aidev.io/idle-after: 30m\n    costgate.aidev.io/reason: \"two L4 GPUs: prefill + decode\"\n", "")(s)
			return platformtest.Replace(t, "  syncPolicy:\n", "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n")(s)
		},
	})
	env, err := platform.Load(dir, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range costgate.Lint(env) {
		got = append(got, f.App+" "+f.Check+" "+f.Field)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "llm-d gpu-ungated Deployment/") {
		t.Errorf("findings: %q", got)
	}
}

// A gate without a price, or with one that is no number, does not load: it
// would be listed, opened and summed as free (or as $NaN, which no JSON holds).
func TestLoadRefusesAGateWithoutAPrice(t *testing.T) {
	const file = "catalog/demos/kserve-demo.yaml"
	const price = `    costgate.aidev.io/cost-per-hour: "0.19"` + "\n"
	for value, want := range map[string]string{
		"": "annotation costgate.aidev.io/cost-per-hour is missing",
		`    costgate.aidev.io/cost-per-hour: "NaN"` + "\n":  `annotation costgate.aidev.io/cost-per-hour: "NaN" is not a non-negative number`,
		`    costgate.aidev.io/cost-per-hour: "+Inf"` + "\n": `annotation costgate.aidev.io/cost-per-hour: "+Inf" is not a non-negative number`,
		`    costgate.aidev.io/cost-per-hour: "-1"` + "\n":   `annotation costgate.aidev.io/cost-per-hour: "-1" is not a non-negative number`,
	} {
		dir := platformtest.CopyEnv(t, clusters, "sandbox", map[string]platformtest.Edit{file: platformtest.Replace(t, price, value)})
		_, err := platform.Load(dir, "sandbox")
		if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "Application kserve-demo: "+want) {
			t.Errorf("%q: %v\nwant %s: ...%s", value, err, file, want)
		}
	}
}

// A gate whose max-open is shorter than its idle-after is never closed for
// being idle: a warning naming both. Equal or longer is no finding.
func TestLintWarnsWhenMaxOpenIsBelowIdleAfter(t *testing.T) {
	const file = "catalog/llm-d/llm-d.yaml"
	const idle = "    costgate.aidev.io/idle-after: 30m\n"
	for annotations, want := range map[string]string{
		"    costgate.aidev.io/idle-after: 2h\n    costgate.aidev.io/max-open: 1h\n": "llm-d warning max-open-below-idle: " +
			"max-open 1h is shorter than idle-after 2h: the lease always closes it first; " +
			"fix: raise costgate.aidev.io/max-open to 2h or more, or lower costgate.aidev.io/idle-after to 1h or less",
		idle + "    costgate.aidev.io/max-open: 1m30s\n": "llm-d warning max-open-below-idle: " +
			"max-open 1m30s is shorter than idle-after 30m: the lease always closes it first; " +
			"fix: raise costgate.aidev.io/max-open to 30m or more, or lower costgate.aidev.io/idle-after to 1m30s or less",
		idle + "    costgate.aidev.io/max-open: 30m\n": "",
		idle + "    costgate.aidev.io/max-open: 2d\n":  "",
		"    costgate.aidev.io/max-open: 1m\n":         "", // no idle-after: nothing to compare
	} {
		dir := platformtest.CopyEnv(t, clusters, "sandbox", map[string]platformtest.Edit{file: platformtest.Replace(t, idle, annotations)})
		env, err := platform.Load(dir, "sandbox")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range costgate.Lint(env) {
			if f.File != filepath.Join(dir, "sandbox", file) {
				t.Errorf("finding names %s, want %s", f.File, filepath.Join(dir, "sandbox", file))
			}
			got = append(got, f.App+" "+f.Severity+" "+f.Check+": "+f.Message+"; fix: "+f.Fix)
		}
		if strings.Join(got, "\n") != want {
			t.Errorf("%q: findings\n%s\nwant\n%s", annotations, strings.Join(got, "\n"), want)
		}
	}
}

// A bad uptime or max-open does not load: the error names the file, the
// Application and the annotation (as costgate lint prints it).
func TestLoadRefusesABadUptimeOrMaxOpen(t *testing.T) {
	const file = "catalog/demos/kserve-demo.yaml"
	const idle = "    costgate.aidev.io/idle-after: 30m\n"
	for value, want := range map[string]string{
		"    costgate.aidev.io/uptime: \"Mon-Fri 07:00-20:00 Europe/Berlin, Mon-Fry 07:00-20:00 UTC\"\n": `annotation costgate.aidev.io/uptime: range 2 "Mon-Fry 07:00-20:00 UTC": unknown day "Fry" (want Mon..Sun)`,
		"    costgate.aidev.io/uptime: Mon-Fri 07:00-20:00\n":                                            `annotation costgate.aidev.io/uptime: range 1 "Mon-Fri 07:00-20:00": missing time zone after 07:00-20:00 (want an IANA name such as Europe/Berlin or UTC)`,
		"    costgate.aidev.io/max-open: 8 hours\n":                                                      `annotation costgate.aidev.io/max-open: "8 hours" is not a duration such as 8h`,
	} {
		dir := platformtest.CopyEnv(t, clusters, "sandbox", map[string]platformtest.Edit{file: platformtest.Replace(t, idle, idle+value)})
		_, err := platform.Load(dir, "sandbox")
		if want := filepath.Join(dir, "sandbox", file) + ": Application kserve-demo: " + want; err == nil || err.Error() != want {
			t.Errorf("%q: %v\nwant %s", value, err, want)
		}
	}
}
