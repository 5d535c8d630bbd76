package platform

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GateAnnotationPrefix prefixes the annotations that make an Application a cost
// gate and describe it (see the README, "Cost gates").
const GateAnnotationPrefix = "costgate.aidev.io/"

// GateKind is how a gate opens and closes.
type GateKind string

const (
	// GateScale scales a workload with a /scale subresource (Deployment,
	// StatefulSet, LeaderWorkerSet, a custom resource) whose replicas Argo CD ignores.
	GateScale GateKind = "scale"
	// GatePause sets or removes serving.kserve.io/stop on an InferenceService.
	GatePause GateKind = "pause"
	// GateSync only syncs on demand.
	GateSync GateKind = "sync"
)

// Gate is a cost gate as its Application's annotations describe it.
type Gate struct {
	Kind        GateKind      `json:"kind"`
	Target      *ObjectRef    `json:"target,omitempty"`
	Replicas    int32         `json:"replicas,omitempty"`
	CostPerHour float64       `json:"costPerHour"`
	IdleAfter   time.Duration `json:"idleAfter,omitempty"`
	IdleQuery   string        `json:"idleQuery,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	MaxOpen     time.Duration `json:"maxOpen,omitempty"`
	Uptime      *Uptime       `json:"uptime,omitempty"`
}

// ObjectRef names the object a gate acts on: Kind[.group]/namespace/name.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String is the ref as a gate annotation writes it: the group only when the
// kind does not imply it (Deployment/serving/raw-vllm,
// LeaderWorkerSet.leaderworkerset.x-k8s.io/serving/llm-d-decode).
func (r ObjectRef) String() string { return r.GroupKind() + "/" + r.Namespace + "/" + r.Name }

// GroupKind is "Kind" for a kind whose group is implied, else "Kind.group".
func (r ObjectRef) GroupKind() string {
	if g, ok := impliedGroups[r.Kind]; ok && g == r.Group {
		return r.Kind
	}
	if r.Group == "" {
		return r.Kind
	}
	return r.Kind + "." + r.Group
}

// impliedGroups are the kinds a target may name without their API group:
// Kubernetes' own scalable workloads and KServe's InferenceService. Any other
// kind names its group, so that lint can check ignoreDifferences offline and
// discovery finds exactly one kind.
var impliedGroups = map[string]string{
	"Deployment":            "apps",
	"StatefulSet":           "apps",
	"ReplicaSet":            "apps",
	"ReplicationController": "",
	"InferenceService":      "serving.kserve.io",
}

// ManualUngated says whether an app deploys only when someone syncs it (no
// syncPolicy.automated) without being a cost gate (no gate annotation):
// costgate does not see it, nor what it costs.
func (a App) ManualUngated() bool { return !a.Automated && a.Gate == nil }

// UngatedApps returns the environment's manual-sync apps without a gate
// annotation, in catalog order: they deploy only on a sync, like gates, but are
// not gates (costgate lint warns about each; the lists name them apart).
func (e *Env) UngatedApps() []App {
	var out []App
	for _, a := range e.Apps {
		if a.ManualUngated() {
			out = append(out, a)
		}
	}
	return out
}

// AppFromLive reads an Application as the cluster holds it, for a caller
// that has no repository (the in-cluster watcher): its gate and sync policy
// from the same annotations and fields as the catalog's. Its group and layer
// are unknown there; errors read "in the cluster: Application NAME: ...".
func AppFromLive(obj map[string]any) (App, error) {
	return appFromManifest(obj, "in the cluster", "", "")
}

func appFromManifest(obj map[string]any, path, group, layer string) (App, error) {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return App{}, fmt.Errorf("%s: an Application has no metadata.name", path)
	}
	app := App{Name: name, Group: group, Layer: layer, File: path, Manifest: obj}
	spec, _ := obj["spec"].(map[string]any)
	policy, _ := spec["syncPolicy"].(map[string]any)
	if auto, ok := policy["automated"].(map[string]any); ok {
		// automated.enabled: false keeps the block but turns auto-sync off.
		app.Automated = auto["enabled"] != false
		app.SelfHeal = app.Automated && auto["selfHeal"] == true
	} else if _, ok := policy["automated"]; ok {
		app.Automated = true // `automated: {}` written as null
	}
	annotations, _ := meta["annotations"].(map[string]any)
	gate, err := gateFromAnnotations(annotations)
	if err != nil {
		return App{}, fmt.Errorf("%s: Application %s: %v", path, name, err)
	}
	app.Gate = gate
	if app.Chat, err = chatFromAnnotations(annotations); err != nil {
		return App{}, fmt.Errorf("%s: Application %s: %v", path, name, err)
	}
	return app, nil
}

// SmokeAnnotationPrefix prefixes the annotations kubectl smoke reads.
const SmokeAnnotationPrefix = "smoke.aidev.io/"

// ChatTarget is where an app serves the OpenAI API and which Secret holds its key.
type ChatTarget struct {
	Service   ObjectRef     `json:"service"` // Kind is "Service"
	Port      int32         `json:"port"`
	KeySecret *SecretKeyRef `json:"keySecret,omitempty"`
}

// SecretKeyRef names one key of a Secret: NAMESPACE/NAME:KEY.
type SecretKeyRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

func (r SecretKeyRef) String() string { return r.Namespace + "/" + r.Name + ":" + r.Key }

// ParseSecretKeyRef reads NAMESPACE/NAME:KEY.
func ParseSecretKeyRef(s string) (SecretKeyRef, error) {
	nsName, key, ok := strings.Cut(s, ":")
	ns, name, ok2 := strings.Cut(nsName, "/")
	if !ok || !ok2 || ns == "" || name == "" || key == "" {
		return SecretKeyRef{}, fmt.Errorf("%q is not NAMESPACE/NAME:KEY", s)
	}
	return SecretKeyRef{Namespace: ns, Name: name, Key: key}, nil
}

func chatFromAnnotations(annotations map[string]any) (*ChatTarget, error) {
	svc, _ := annotations[SmokeAnnotationPrefix+"chat-service"].(string)
	if svc == "" {
		return nil, nil
	}
	field := "annotation " + SmokeAnnotationPrefix + "chat-service"
	nsName, portStr, ok := strings.Cut(svc, ":")
	ns, name, ok2 := strings.Cut(nsName, "/")
	port, err := strconv.ParseInt(portStr, 10, 32)
	if !ok || !ok2 || ns == "" || name == "" || err != nil || port <= 0 {
		return nil, fmt.Errorf("%s: %q is not NAMESPACE/SERVICE:PORT", field, svc)
	}
	t := &ChatTarget{Service: ObjectRef{Kind: "Service", Namespace: ns, Name: name}, Port: int32(port)}
	if ks, _ := annotations[SmokeAnnotationPrefix+"key-secret"].(string); ks != "" {
		ref, err := ParseSecretKeyRef(ks)
		if err != nil {
			return nil, fmt.Errorf("annotation %skey-secret: %v", SmokeAnnotationPrefix, err)
		}
		t.KeySecret = &ref
	}
	return t, nil
}

func gateFromAnnotations(annotations map[string]any) (*Gate, error) {
	get := func(key string) string {
		v, _ := annotations[GateAnnotationPrefix+key].(string)
		return strings.TrimSpace(v)
	}
	kind := get("gate")
	if kind == "" {
		for k := range annotations {
			if strings.HasPrefix(k, GateAnnotationPrefix) {
				return nil, fmt.Errorf("annotation %s is set but %sgate is not", k, GateAnnotationPrefix)
			}
		}
		return nil, nil
	}
	field := func(key string) string { return "annotation " + GateAnnotationPrefix + key }
	g := &Gate{Kind: GateKind(kind), Reason: get("reason"), IdleQuery: get("idle-query")}
	switch g.Kind {
	case GateScale, GatePause:
		ref, err := parseRef(get("target"))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", field("target"), err)
		}
		if g.Kind == GatePause && (ref.Kind != "InferenceService" || ref.Group != impliedGroups["InferenceService"]) {
			return nil, fmt.Errorf("%s: a pause gate targets an InferenceService, not a %s", field("target"), ref.GroupKind())
		}
		g.Target = &ref
	case GateSync:
		if t := get("target"); t != "" {
			return nil, fmt.Errorf("%s: a sync gate has no target (got %q)", field("target"), t)
		}
	default:
		return nil, fmt.Errorf("%s: unknown gate %q (want scale, pause or sync)", field("gate"), kind)
	}
	if r := get("replicas"); r != "" {
		if g.Kind != GateScale {
			return nil, fmt.Errorf("%s: only a scale gate has replicas", field("replicas"))
		}
		n, err := strconv.ParseInt(r, 10, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive whole number", field("replicas"), r)
		}
		g.Replicas = int32(n)
	} else if g.Kind == GateScale {
		g.Replicas = 1
	}
	// A gate without a price would be listed, opened and summed as free.
	cost := get("cost-per-hour")
	if cost == "" {
		return nil, fmt.Errorf("%s is missing: every gate says what an hour open costs (in dollars, e.g. \"0.70\"; \"0\" for a free one)", field("cost-per-hour"))
	}
	c, err := strconv.ParseFloat(cost, 64)
	if err != nil || c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
		return nil, fmt.Errorf("%s: %q is not a non-negative number", field("cost-per-hour"), cost)
	}
	g.CostPerHour = c
	if idle := get("idle-after"); idle != "" {
		d, err := time.ParseDuration(idle)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s: %q is not a duration such as 30m", field("idle-after"), idle)
		}
		g.IdleAfter = d
	}
	if maxOpen := get("max-open"); maxOpen != "" {
		d, err := parseDurationOrDays(maxOpen)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s: %q is not a duration such as 8h", field("max-open"), maxOpen)
		}
		g.MaxOpen = d
	}
	if uptime := get("uptime"); uptime != "" {
		u, err := ParseUptime(uptime)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", field("uptime"), err)
		}
		g.Uptime = u
	}
	return g, nil
}

// parseRef reads Kind[.group]/namespace/name, as kubectl names a resource
// (deployment.apps) but with the Kind, as Argo CD's ignoreDifferences does.
func parseRef(s string) (ObjectRef, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return ObjectRef{}, fmt.Errorf("%q is not Kind[.group]/namespace/name", s)
	}
	kind, group, dotted := strings.Cut(parts[0], ".")
	ref := ObjectRef{Kind: kind, Group: group, Namespace: parts[1], Name: parts[2]}
	if kind == "" || dotted && group == "" {
		return ObjectRef{}, fmt.Errorf("%q is not Kind[.group]/namespace/name", s)
	}
	if !dotted {
		implied, ok := impliedGroups[kind]
		if !ok {
			return ObjectRef{}, fmt.Errorf("%q: name the API group of kind %s (%s.<group>/%s/%s, e.g. LeaderWorkerSet.leaderworkerset.x-k8s.io/...): only %s imply theirs",
				s, kind, kind, ref.Namespace, ref.Name, impliedKinds())
		}
		ref.Group = implied
	}
	return ref, nil
}

func impliedKinds() string {
	kinds := make([]string, 0, len(impliedGroups))
	for k := range impliedGroups {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return strings.Join(kinds, ", ")
}

// dnsLabel checks a name fits in Kubernetes object names (it becomes part of
// Application and ApplicationSet names).
func dnsLabel(s string) error {
	if s == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(s) > 53 {
		return fmt.Errorf("%q is longer than 53 characters", s)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(s)-1
		if !ok {
			return fmt.Errorf("%q is not a DNS label (lower-case letters, digits and inner '-')", s)
		}
	}
	return nil
}

// DestinationNamespace is the namespace the Application deploys to
// (spec.destination.namespace), empty when it names none.
func (a App) DestinationNamespace() string {
	spec, _ := a.Manifest["spec"].(map[string]any)
	dest, _ := spec["destination"].(map[string]any)
	ns, _ := dest["namespace"].(string)
	return ns
}
