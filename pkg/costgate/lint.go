package costgate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Severity of a lint finding.
const (
	Error   = platform.Error
	Warning = platform.Warning
)

// Finding is one lint result: where, what, and how to fix it.
type Finding = platform.Finding

// Check names, stable for tools and tests.
const (
	CheckManual          = "manual-sync"
	CheckIgnoreReplicas  = "ignore-replicas"
	CheckRespectIgnore   = "respect-ignore-differences"
	CheckSelfHealPause   = "selfheal-owns-paused-target"
	CheckKEDAPaused      = "keda-paused"
	CheckHPA             = "hpa-owns-replicas"
	CheckSingleOwner     = "single-owner"
	CheckInspectableTree = "inspectable"
	CheckMaxReplicas     = "max-replicas"
	CheckUngated         = "ungated-manual-sync"
	CheckGPUUngated      = "gpu-ungated"
	CheckMaxOpenIdle     = "max-open-below-idle"
)

// Lint checks every gate of an environment statically: no cluster needed.
func Lint(env *platform.Env) []Finding {
	deployed := scanDeployed(env)
	var out []Finding
	for _, app := range env.Apps {
		if app.ManualUngated() {
			out = append(out, ungated(app))
		}
		out = append(out, gpuUngated(env, app)...)
		if app.Gate == nil {
			continue
		}
		add := func(sev, check, msg, fix string) {
			out = append(out, Finding{Severity: sev, App: app.Name, File: app.File, Check: check, Message: msg, Fix: fix})
		}
		g := app.Gate
		if app.Automated {
			add(Error, CheckManual, "a gated app is auto-sync: Argo CD deploys it without anyone asking, and selfHeal undoes up/down",
				"remove spec.syncPolicy.automated (keep syncOptions)")
		}
		if g.MaxOpen > 0 && g.IdleAfter > 0 && g.MaxOpen < g.IdleAfter {
			// A warning: the gate still closes, only never for being idle.
			maxOpen, idle := shortDuration(g.MaxOpen), shortDuration(g.IdleAfter)
			add(Warning, CheckMaxOpenIdle, fmt.Sprintf("max-open %s is shorter than idle-after %s: the lease always closes it first", maxOpen, idle),
				fmt.Sprintf("raise %smax-open to %s or more, or lower %sidle-after to %s or less", platform.GateAnnotationPrefix, idle, platform.GateAnnotationPrefix, maxOpen))
		}
		if g.Kind == platform.GateScale {
			if !ignoresReplicas(app, *g.Target) {
				add(Error, CheckIgnoreReplicas, fmt.Sprintf("no ignoreDifferences on /spec/replicas of %s: a sync would reset the replicas up/down set", g.Target),
					fmt.Sprintf("add to spec.ignoreDifferences: {group: %s, kind: %s, name: %s, namespace: %s, jsonPointers: [/spec/replicas]}", groupOrCore(g.Target.Group), g.Target.Kind, g.Target.Name, g.Target.Namespace))
			}
			if !slices.Contains(syncOptions(app), "RespectIgnoreDifferences=true") {
				add(Error, CheckRespectIgnore, "syncOptions lack RespectIgnoreDifferences=true: ignoreDifferences hides the drift but a sync still applies git's replicas",
					"add RespectIgnoreDifferences=true to spec.syncPolicy.syncOptions")
			}
			if limit, err := MaxReplicas(app); err != nil {
				add(Error, CheckMaxReplicas, err.Error(), fmt.Sprintf(`set %s to a positive whole number, for example "%d"`, MaxReplicasAnnotation, DefaultMaxReplicas))
			} else if g.Replicas > limit {
				add(Error, CheckMaxReplicas, fmt.Sprintf("the gate opens at %d replicas, above its maximum of %d: up would refuse it", g.Replicas, limit),
					fmt.Sprintf("lower %sreplicas or raise %s", platform.GateAnnotationPrefix, MaxReplicasAnnotation))
			}
		}
		if g.Target == nil {
			continue
		}
		for _, d := range deployed[refKey(*g.Target)] {
			if d.app.Name == app.Name {
				continue
			}
			if g.Kind == platform.GatePause && d.app.SelfHeal {
				add(Error, CheckSelfHealPause, fmt.Sprintf("%s is also deployed by %s, an auto-sync app with selfHeal: it would remove serving.kserve.io/stop", g.Target, d.app.Name),
					fmt.Sprintf("deploy %s only from %s (remove it from %s)", g.Target, app.Name, d.file))
				continue
			}
			add(Error, CheckSingleOwner, fmt.Sprintf("%s is also deployed by %s (%s): two apps fight over it", g.Target, d.app.Name, d.file),
				fmt.Sprintf("deploy %s only from %s", g.Target, app.Name))
		}
		if g.Kind == platform.GateScale {
			for _, hpa := range deployed[hpaKey(*g.Target)] {
				add(Error, CheckHPA, fmt.Sprintf("HorizontalPodAutoscaler %s/%s scales %s: it owns the replicas and undoes up/down", g.Target.Namespace, hpa.name, g.Target),
					fmt.Sprintf("remove it from %s, or gate the app without a scale gate", hpa.file))
			}
			for _, so := range deployed[kedaKey(*g.Target)] {
				if !so.paused {
					add(Error, CheckKEDAPaused, fmt.Sprintf("KEDA ScaledObject %s/%s targets %s and is not paused: KEDA owns the replicas and undoes up/down", g.Target.Namespace, so.name, g.Target),
						fmt.Sprintf(`annotate it autoscaling.keda.sh/paused: "true" in %s`, so.file))
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

// gpuUngated finds what costs a GPU node without a gate: an app with no gate
// annotation that deploys pods asking for nvidia.com/gpu. Argo CD would bring
// the node up the moment the app's group is enabled.
func gpuUngated(env *platform.Env, app platform.App) []Finding {
	if app.Gate != nil {
		return nil
	}
	for _, o := range env.Deployed(app) {
		for _, c := range platform.Containers(o.Unstructured) {
			gpus := gpuRequest(c)
			if gpus == nil {
				continue
			}
			return []Finding{{Severity: Error, App: app.Name, File: o.File, Field: o.GetKind() + "/" + o.GetName(), Check: CheckGPUUngated,
				Message: fmt.Sprintf("asks for nvidia.com/gpu %v but %s has no gate: enabling its group starts a GPU node that nobody opened", gpus, app.Name),
				Fix: fmt.Sprintf(`make %s manual-sync and annotate it %sgate: scale (target the Deployment, replicas 0 in git) or sync, with %scost-per-hour`,
					app.Name, platform.GateAnnotationPrefix, platform.GateAnnotationPrefix)}}
		}
	}
	return nil
}

// gpuRequest is a container's nvidia.com/gpu limit, else its request (nil: none).
func gpuRequest(c map[string]any) any {
	for _, kind := range []string{"limits", "requests"} {
		if gpus, _, _ := unstructured.NestedFieldNoCopy(c, "resources", kind, "nvidia.com/gpu"); gpus != nil {
			return gpus
		}
	}
	return nil
}

// ungated is the finding for a manual-sync app without a gate annotation: it
// deploys only when someone syncs it, as a gate does, yet costgate list, cost
// and idle do not see it, so what it costs while deployed is invisible.
//
// A warning, not an error: nothing is broken (Argo CD deploys it on a sync as
// it always did, and profile wait does not wait on it), and a team adopting
// the plugins on its own tree must be able to run lint in CI from the first
// day and annotate its apps one by one. lint --strict fails on warnings too,
// for a tree whose apps are all annotated and must stay so.
func ungated(app platform.App) Finding {
	p := platform.GateAnnotationPrefix
	return Finding{
		Severity: Warning, App: app.Name, File: app.File, Check: CheckUngated,
		Message: fmt.Sprintf("manual-sync (no spec.syncPolicy.automated) but no %sgate annotation: it deploys only on a sync, "+
			"and costgate list, its cost and idle do not see it", p),
		Fix: fmt.Sprintf(`annotate it %sgate: sync (or scale or pause, with %starget) and %scost-per-hour: "0.80" (USD per hour while deployed; "0" if it costs nothing)`,
			p, p, p),
	}
}

func ignoresReplicas(app platform.App, target platform.ObjectRef) bool {
	spec, _ := app.Manifest["spec"].(map[string]any)
	entries, _ := spec["ignoreDifferences"].([]any)
	dest, _ := spec["destination"].(map[string]any)
	destNS, _ := dest["namespace"].(string)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		group, _ := m["group"].(string)
		kind, _ := m["kind"].(string)
		name, _ := m["name"].(string)
		ns, _ := m["namespace"].(string)
		if ns == "" {
			ns = destNS
		}
		if group != target.Group || kind != target.Kind || (name != "" && name != target.Name) || ns != target.Namespace {
			continue
		}
		ptrs, _ := m["jsonPointers"].([]any)
		jq, _ := m["jqPathExpressions"].([]any)
		if slices.Contains(ptrs, any("/spec/replicas")) || slices.Contains(jq, any(".spec.replicas")) {
			return true
		}
	}
	return false
}

func syncOptions(app platform.App) []string {
	spec, _ := app.Manifest["spec"].(map[string]any)
	policy, _ := spec["syncPolicy"].(map[string]any)
	raw, _ := policy["syncOptions"].([]any)
	out := make([]string, 0, len(raw))
	for _, o := range raw {
		if s, ok := o.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// deployment is one object an app's source deploys, found in the repository.
type deployment struct {
	app    platform.App
	file   string
	name   string
	paused bool // ScaledObjects: autoscaling.keda.sh/paused or paused-replicas
}

func refKey(r platform.ObjectRef) string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// kedaKey and hpaKey index the autoscalers by the kind and name they scale.
func kedaKey(r platform.ObjectRef) string {
	return "ScaledObject->" + r.Kind + "/" + r.Namespace + "/" + r.Name
}
func hpaKey(r platform.ObjectRef) string { return "HPA->" + r.Kind + "/" + r.Namespace + "/" + r.Name }

// groupOrCore is how ignoreDifferences writes the core group.
func groupOrCore(g string) string {
	if g == "" {
		return `""`
	}
	return g
}

// scaleTargetKind is the kind an autoscaler's scaleTargetRef names (KEDA
// defaults it to Deployment).
func scaleTargetKind(o *unstructured.Unstructured) string {
	kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
	if kind == "" {
		return "Deployment"
	}
	return kind
}

// scanDeployed indexes what every app deploys from the folders of this
// repository (rendered as Argo CD would), so the lint sees who owns a gate's
// target. Charts are opaque here.
func scanDeployed(env *platform.Env) map[string][]deployment {
	out := map[string][]deployment{}
	for _, app := range env.Apps {
		for _, o := range env.Deployed(app) {
			d := deployment{app: app, file: o.File, name: o.GetName()}
			key := o.GroupVersionKind().Group + "/" + o.GetKind() + "/" + o.Namespace + "/" + o.GetName()
			out[key] = append(out[key], d)
			target, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
			switch o.GetKind() {
			case "ScaledObject":
				ann := o.GetAnnotations()
				_, pausedAt := ann["autoscaling.keda.sh/paused-replicas"]
				d.paused = ann["autoscaling.keda.sh/paused"] == "true" || pausedAt
				key := kedaKey(platform.ObjectRef{Kind: scaleTargetKind(o.Unstructured), Namespace: o.Namespace, Name: target})
				out[key] = append(out[key], d)
			case "HorizontalPodAutoscaler":
				key := hpaKey(platform.ObjectRef{Kind: scaleTargetKind(o.Unstructured), Namespace: o.Namespace, Name: target})
				out[key] = append(out[key], d)
			}
		}
	}
	return out
}

// shortDuration writes d as time.Duration does, without zero minutes and
// seconds: 1h, 30m, 1h30m, 48h.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
