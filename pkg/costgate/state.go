package costgate

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// Annotations costgate writes on the objects it opens and closes.
const (
	// OpenedAtAnnotation records on the gate's Application when it was opened,
	// for "up for" and the cost since (before leases: on a scale or pause
	// gate's target, still read there).
	OpenedAtAnnotation = platform.GateAnnotationPrefix + "opened-at"
	// OpenedByAnnotation records who opened it (the Kubernetes or Argo CD user).
	OpenedByAnnotation = platform.GateAnnotationPrefix + "opened-by"
	// OpenReasonAnnotation records why (up --reason).
	OpenReasonAnnotation = platform.GateAnnotationPrefix + "open-reason"
	// ExpiresAtAnnotation is the gate's lease: when idle closes it.
	ExpiresAtAnnotation = platform.GateAnnotationPrefix + "expires-at"
	// PreviousReplicasAnnotation remembers on the Application the count at
	// `down` for the next `up`, the way kube-downscaler does.
	PreviousReplicasAnnotation = platform.GateAnnotationPrefix + "previous-replicas"
	// StopAnnotation is KServe's switch: "true" deletes the workload.
	StopAnnotation = "serving.kserve.io/stop"
)

// State of a gate.
type State string

// States, from the vocabulary.
const (
	StateAbsent   State = "absent"   // the Application or its target does not exist
	StateDown     State = "down"     // closed: 0 replicas, or not deployed (sync gates)
	StateUp       State = "up"       // open and ready
	StatePaused   State = "paused"   // an InferenceService with serving.kserve.io/stop
	StateStarting State = "starting" // open, not ready yet
	// StateUnknown: its target's kind could not be read (forbidden); the
	// other gates are still listed, and nothing acts on this one.
	StateUnknown State = "unknown"
)

// Status is one gate as `list` shows it.
type Status struct {
	App         string     `json:"app"`
	Layer       string     `json:"layer"`
	Group       string     `json:"group"`
	Gate        string     `json:"gate"`
	Target      string     `json:"target,omitempty"`
	Sync        string     `json:"sync"`
	Health      string     `json:"health"`
	State       State      `json:"state"`
	Desired     int64      `json:"desired"`
	Ready       int64      `json:"ready"`
	CostPerHour float64    `json:"costPerHour"`
	UpSince     *time.Time `json:"upSince,omitempty"`
	// Of an open gate: who opened it and why (up --reason), when its lease
	// ends, and what it has cost since it opened.
	OpenedBy   string     `json:"openedBy,omitempty"`
	OpenReason string     `json:"openReason,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	CostSince  float64    `json:"costSinceOpened,omitempty"`
	// The gate's bounds: its longest lease and its uptime window.
	MaxOpen string `json:"maxOpen,omitempty"`
	Uptime  string `json:"uptime,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Open says whether the gate is open (up or starting): it costs.
func (s Status) Open() bool { return s.State == StateUp || s.State == StateStarting }

// Gated returns the environment's gated apps, in catalog order.
func Gated(env *platform.Env) []platform.App {
	var out []platform.App
	for _, a := range env.Apps {
		if a.Gate != nil {
			out = append(out, a)
		}
	}
	return out
}

// GatedIn returns the gated apps profile p brings up, in catalog order.
func GatedIn(env *platform.Env, p platform.Profile) []platform.App {
	var out []platform.App
	for _, a := range env.CatalogApps(p) {
		if a.Gate != nil {
			out = append(out, a)
		}
	}
	return out
}

// Configured lists the gates the config brings up (their group is enabled and
// no condition leaves them out): what list, idle and down --all act on. Lint
// checks every gate.
func Configured(env *platform.Env) []platform.App {
	var out []platform.App
	for _, a := range Gated(env) {
		if env.AppEnabled(a) {
			out = append(out, a)
		}
	}
	return out
}

// Find returns the gated app by name; an unknown or ungated name is an error that
// lists the gated apps.
func Find(env *platform.Env, name string) (platform.App, error) {
	var names []string
	for _, a := range Gated(env) {
		if a.Name == name && !env.AppEnabled(a) {
			return platform.App{}, fmt.Errorf("app %q is not part of environment %s with its config: group %s is off or a condition in %s leaves the app out; enable it in %s and run %s resolve",
				name, env.Name, a.Group, platform.DescriptorFile, env.ConfigName(), env.Host.Cmd("profile"))
		}
		if a.Name == name {
			return a, nil
		}
		names = append(names, a.Name)
	}
	for _, a := range env.Apps {
		if a.Name == name {
			return platform.App{}, fmt.Errorf("app %q is not cost-gated (it has no %sgate annotation); gated apps: %s",
				name, platform.GateAnnotationPrefix, strings.Join(names, ", "))
		}
	}
	return platform.App{}, fmt.Errorf("unknown app %q in environment %s; gated apps: %s", name, env.Name, strings.Join(names, ", "))
}

// Live is what a backend read of the Applications and the gates' workloads.
type Live struct {
	Apps      map[string]*unstructured.Unstructured // by name, in Argo CD's namespace
	Workloads map[string]*unstructured.Unstructured // by Workload.key
	// Unreadable says, by target kind as the gates name it, why that kind
	// could not be listed (forbidden): its gates' state is unknown.
	Unreadable map[kube.Kind]string
}

// NewLive is an empty Live, for a caller that fills it from its own reads
// (the watcher, from its informers).
func NewLive() Live {
	return Live{Apps: map[string]*unstructured.Unstructured{}, Workloads: map[string]*unstructured.Unstructured{}, Unreadable: map[kube.Kind]string{}}
}

// Workload is the live workload, nil when it does not exist.
func (l Live) Workload(w Workload) *unstructured.Unstructured { return l.Workloads[w.key()] }

// SetWorkload records the live workload w (nil: it does not exist).
func (l Live) SetWorkload(w Workload, o *unstructured.Unstructured) {
	if o == nil {
		delete(l.Workloads, w.key())
		return
	}
	l.Workloads[w.key()] = o
}

// Observe computes every gate's status from the live objects.
func Observe(host platform.Host, gates []platform.App, live Live, now time.Time) []Status {
	out := make([]Status, 0, len(gates))
	for _, a := range gates {
		out = append(out, observe(host, a, live, now))
	}
	return out
}

func observe(host platform.Host, a platform.App, live Live, now time.Time) Status {
	s := observeState(host, a, live)
	if g := a.Gate; g.MaxOpen > 0 {
		s.MaxOpen = g.MaxOpen.String()
	}
	if a.Gate.Uptime != nil {
		s.Uptime = a.Gate.Uptime.String()
	}
	app := live.Apps[a.Name]
	if app == nil || !s.Open() {
		return s
	}
	ann := app.GetAnnotations()
	if t := annotatedTime(app, OpenedAtAnnotation); t != nil {
		s.UpSince = t
	}
	s.OpenedBy, s.OpenReason = ann[OpenedByAnnotation], ann[OpenReasonAnnotation]
	s.ExpiresAt = annotatedTime(app, ExpiresAtAnnotation)
	if s.UpSince != nil && now.After(*s.UpSince) {
		s.CostSince = math.Round(now.Sub(*s.UpSince).Hours()*s.CostPerHour*100) / 100 // cents
	}
	return s
}

// observeState is the gate's state from its Application and workload.
func observeState(host platform.Host, a platform.App, live Live) Status {
	g := a.Gate
	s := Status{App: a.Name, Layer: a.Layer, Group: a.Group, Gate: string(g.Kind), CostPerHour: g.CostPerHour, Sync: "-", Health: "-"}
	if g.Target != nil {
		s.Target = g.Target.String()
	}
	app, ok := live.Apps[a.Name]
	if !ok {
		s.State, s.Reason = StateAbsent, "no Application: its layer "+a.Layer+" is not applied"
		return s
	}
	st := argocd.StatusOf(app)
	s.Sync, s.Health = printers.Dash(st.Sync), printers.Dash(st.Health)
	if why, ok := live.Unreadable[WorkloadOf(a).Kind]; ok && g.Target != nil {
		s.State, s.Reason = StateUnknown, why
		return s
	}
	switch g.Kind {
	case platform.GateScale:
		d := live.Workload(WorkloadOf(a))
		if d == nil {
			s.State, s.Reason = StateAbsent, "not deployed yet: "+host.Cmd("costgate")+" sync "+a.Name
			return s
		}
		s.Desired, s.Ready = replicasOf(d)
		switch {
		case s.Desired == 0:
			s.State = StateDown
		case s.Ready >= s.Desired:
			s.State = StateUp
		default:
			s.State = StateStarting
		}
		s.UpSince = annotatedTime(d, OpenedAtAnnotation)
	case platform.GatePause:
		isvc := live.Workload(WorkloadOf(a))
		if isvc == nil {
			s.State, s.Reason = StateAbsent, "not deployed yet: "+host.Cmd("costgate")+" sync "+a.Name
			return s
		}
		switch {
		case strings.EqualFold(isvc.GetAnnotations()[StopAnnotation], "true"):
			s.State = StatePaused
		case conditionTrue(isvc, "Ready"):
			s.State, s.Desired, s.Ready = StateUp, 1, 1
		default:
			s.State, s.Desired = StateStarting, 1
		}
		s.UpSince = annotatedTime(isvc, OpenedAtAnnotation)
	case platform.GateSync:
		s.State = SyncGateState(st)
		if s.State == StateUp {
			// Since the sync that opened it (recorded by costgate sync, read
			// by observe), not the last re-sync; an app synced by other means
			// has only that.
			if at, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "finishedAt"); at != "" {
				if t, err := time.Parse(time.RFC3339, at); err == nil {
					s.UpSince = &t
				}
			}
		}
	}
	if !s.Open() {
		s.UpSince = nil
	}
	return s
}

// replicasOf reads a scalable workload's desired and ready replicas: every
// kind keeps the desired count in spec.replicas, and Deployments,
// StatefulSets and LeaderWorkerSets the ready one in status.readyReplicas
// (absent: none ready). A kind that reports none counts as not ready: list
// reads no pods, up waits on them.
func replicasOf(o *unstructured.Unstructured) (desired, ready int64) {
	desired, _, _ = unstructured.NestedInt64(o.Object, "spec", "replicas")
	ready, _, _ = unstructured.NestedInt64(o.Object, "status", "readyReplicas")
	return desired, ready
}

// SyncGateState is a sync gate's state from its Application: up when Synced
// and Healthy, down when nothing is deployed, starting in between.
func SyncGateState(st argocd.AppStatus) State {
	switch {
	case st.Sync == argocd.Synced && st.Health == argocd.Healthy:
		return StateUp
	case st.Health == argocd.Missing || st.Sync == argocd.OutOfSync && st.Health == "":
		return StateDown
	}
	return StateStarting
}

// annotatedTime reads an RFC 3339 time from an annotation; nil when absent
// or unreadable.
func annotatedTime(obj *unstructured.Unstructured, key string) *time.Time {
	t, err := time.Parse(time.RFC3339, obj.GetAnnotations()[key])
	if err != nil {
		return nil
	}
	return &t
}

func conditionTrue(obj *unstructured.Unstructured, condType string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	return slices.ContainsFunc(conds, func(c any) bool {
		m, _ := c.(map[string]any)
		return m["type"] == condType && m["status"] == "True"
	})
}
