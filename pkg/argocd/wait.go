package argocd

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Target is an Application a wait expects, with where it comes from.
type Target struct {
	Name   string `json:"name"`
	Layer  string `json:"layer"`
	Group  string `json:"group"`
	Parent string `json:"parent"` // what creates it: an ApplicationSet or a group app
	Gated  bool   `json:"gated"`
	// Manual: manual-sync without a gate annotation (costgate does not see it).
	Manual bool `json:"manual,omitempty"`
}

// Row is one target's state in a wait.
type Row struct {
	Target
	Status AppStatus `json:"status"`
	State  string    `json:"state"` // ready, waiting, gated, degraded, failed
	Reason string    `json:"reason,omitempty"`
}

// Row states.
const (
	StateReady    = "ready"
	StateWaiting  = "waiting"
	StateGated    = "gated"
	StateDegraded = "degraded"
	StateFailed   = "failed"
)

// Tracker decides, from successive snapshots of the live Applications, whether a
// set of apps is Synced and Healthy. Gated apps are reported, never waited on.
// A Degraded app fails the wait only once it has stayed Degraded for the grace,
// because apps often pass through Degraded while pods start.
type Tracker struct {
	targets       []Target
	grace         time.Duration
	degradedSince map[string]time.Time
	// appSetErrors: the ApplicationSets whose ErrorOccurred condition is True,
	// by "ApplicationSet <name>" (a target's Parent).
	appSetErrors map[string]AppSetError
	// AppSetGrace is how long an ApplicationSet's error may stand, counted
	// from when the wait first saw the ApplicationSets, before a wait on the
	// apps it should create fails: the controller reports passing errors too
	// (a repo-server still starting), and an error from before an apply that
	// cured it stands until its next reconciliation.
	AppSetGrace time.Duration
	seenSince   time.Time // the first SeeAppSets
}

// DefaultAppSetGrace is AppSetGrace unless told otherwise.
const DefaultAppSetGrace = 15 * time.Second

// NewTracker tracks targets with a grace for Degraded.
func NewTracker(targets []Target, degradedGrace time.Duration) *Tracker {
	return &Tracker{targets: targets, grace: degradedGrace, degradedSince: map[string]time.Time{}, appSetErrors: map[string]AppSetError{}, AppSetGrace: DefaultAppSetGrace}
}

// AppSetError is an ApplicationSet's ErrorOccurred condition, standing since.
type AppSetError struct {
	Name    string    `json:"name"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"`
}

// AppSetErrorOf reads an ApplicationSet's ErrorOccurred condition when it is
// True (since its lastTransitionTime, else now).
func AppSetErrorOf(appset *unstructured.Unstructured, now time.Time) (AppSetError, bool) {
	conditions, _, _ := unstructured.NestedSlice(appset.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] != "ErrorOccurred" || m["status"] != "True" {
			continue
		}
		e := AppSetError{Name: appset.GetName(), Since: now}
		e.Message, _ = m["message"].(string)
		if at, _ := m["lastTransitionTime"].(string); at != "" {
			if t, err := time.Parse(time.RFC3339, at); err == nil && t.Before(now) {
				e.Since = t
			}
		}
		return e, true
	}
	return AppSetError{}, false
}

// SeeAppSets takes the live ApplicationSets into account from the next
// Observe, and says whether their errors changed.
func (t *Tracker) SeeAppSets(appsets map[string]*unstructured.Unstructured, now time.Time) (changed bool) {
	if t.seenSince.IsZero() {
		t.seenSince = now
	}
	seen := map[string]AppSetError{}
	for name, a := range appsets {
		if e, ok := AppSetErrorOf(a, now); ok {
			if e.Since.Before(t.seenSince) {
				e.Since = t.seenSince
			}
			if prev, had := t.appSetErrors["ApplicationSet "+name]; had && prev.Message == e.Message && prev.Since.Before(e.Since) {
				e.Since = prev.Since
			}
			seen["ApplicationSet "+name] = e
		}
	}
	changed = len(seen) != len(t.appSetErrors)
	for k, e := range seen {
		if prev, had := t.appSetErrors[k]; !had || prev.Message != e.Message {
			changed = true
		}
	}
	t.appSetErrors = seen
	return changed
}

// Result of one look at the snapshot.
type Result struct {
	Rows  []Row
	Ready int // non-gated targets ready
	Total int // non-gated targets
	Gated int
	Done  bool
	// Failed holds the rows that were Degraded past the grace.
	Failed []Row
	// Next is when a Degraded app's grace runs out, so the caller can look again
	// without an event; zero when none is pending.
	Next time.Time
}

// Observe evaluates the targets against the live apps at time now.
func (t *Tracker) Observe(live map[string]*unstructured.Unstructured, now time.Time) Result {
	var r Result
	for _, tg := range t.targets {
		row := Row{Target: tg}
		app, exists := live[tg.Name]
		if exists {
			row.Status = StatusOf(app)
		} else {
			row.Status = AppStatus{Name: tg.Name}
		}
		switch {
		case tg.Gated:
			row.State = StateGated
			r.Gated++
			if !exists {
				row.Reason = "not created yet by " + tg.Parent
			} else {
				row.Reason = "gated: deploys on an explicit sync (costgate)"
				if tg.Manual {
					row.Reason = "manual sync, no gate annotation: deploys on an explicit sync (argocd app sync " + tg.Name + ")"
				}
			}
			r.Rows = append(r.Rows, row)
			continue
		case !exists:
			row.State, row.Reason = StateWaiting, "not created yet by "+tg.Parent
			delete(t.degradedSince, tg.Name)
			if e, failing := t.appSetErrors[tg.Parent]; failing {
				row.Reason = tg.Parent + " fails: " + e.Message
				if deadline := e.Since.Add(t.AppSetGrace); !now.Before(deadline) {
					row.State = StateFailed
					r.Failed = append(r.Failed, row)
				} else if r.Next.IsZero() || deadline.Before(r.Next) {
					r.Next = deadline
				}
			}
		case row.Status.Ready():
			row.State = StateReady
			r.Ready++
			delete(t.degradedSince, tg.Name)
		case row.Status.Health == Degraded:
			since, seen := t.degradedSince[tg.Name]
			if !seen {
				since = now
				t.degradedSince[tg.Name] = now
			}
			deadline := since.Add(t.grace)
			if !now.Before(deadline) {
				row.State = StateFailed
				row.Reason = fmt.Sprintf("Degraded for %s: %s", now.Sub(since).Round(time.Second), row.Status.Message)
				r.Failed = append(r.Failed, row)
			} else {
				row.State = StateDegraded
				row.Reason = fmt.Sprintf("Degraded (fails after %s more): %s", deadline.Sub(now).Round(time.Second), row.Status.Message)
				if r.Next.IsZero() || deadline.Before(r.Next) {
					r.Next = deadline
				}
			}
		default:
			row.State = StateWaiting
			delete(t.degradedSince, tg.Name)
			row.Reason = waitingOn(row.Status)
		}
		r.Total++
		r.Rows = append(r.Rows, row)
	}
	r.Done = r.Ready == r.Total && len(r.Failed) == 0
	return r
}

// waitingOn says what a not-yet-ready app is waiting for.
func waitingOn(s AppStatus) string {
	switch {
	case s.Sync == "" && s.Health == "":
		return "not reconciled yet by the application-controller"
	case s.OperationInProgress():
		return "sync operation " + strings.ToLower(orDefault(s.OperationPhase, "requested")) + " (" + s.Sync + "/" + s.Health + ")"
	case s.Sync == Synced && s.Health == Healthy && s.OperationFailed():
		return "last sync " + s.Message
	case s.Sync != Synced:
		if s.Message != "" {
			return s.Sync + ": " + s.Message
		}
		return s.Sync
	default:
		if s.Message != "" {
			return s.Health + ": " + s.Message
		}
		return s.Health
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
