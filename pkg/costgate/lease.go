package costgate

import (
	"fmt"
	"time"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// CheckLease refuses, with no cluster, a lease an up may not take: one above
// the gate's max-open without force, and an up outside the gate's uptime
// window without one (the lease overrides the window until it ends). note
// says what the lease will be, for the person running up.
func CheckLease(app platform.App, lease time.Duration, force bool, now time.Time) (note string, err error) {
	g := app.Gate
	if lease < 0 {
		return "", fmt.Errorf("--for %s: must be positive", lease)
	}
	if lease > 0 && g.MaxOpen > 0 && lease > g.MaxOpen && !force {
		return "", fmt.Errorf("--for %s is above %s's max-open of %s (annotation %smax-open): pass --force to go above it, or raise the annotation in %s",
			lease, app.Name, g.MaxOpen, platform.GateAnnotationPrefix, app.File)
	}
	if g.Uptime != nil && !g.Uptime.Contains(now) {
		window := fmt.Sprintf("%s is outside its uptime window %q (annotation %suptime)", app.Name, g.Uptime.String(), platform.GateAnnotationPrefix)
		if next := g.Uptime.Next(now); !next.IsZero() {
			window += fmt.Sprintf(", which opens at %s", next.Format("Mon 2006-01-02 15:04 MST"))
		}
		if lease == 0 {
			return "", fmt.Errorf("%s: pass --for DURATION to open it anyway, the lease overriding the window until it ends", window)
		}
		return fmt.Sprintf("%s: the lease of %s overrides it until %s", window, lease, now.Add(lease).UTC().Format(time.RFC3339)), nil
	}
	return "", nil
}

// leaseEnd is when a gate opened now must close: now+lease when up gave one,
// now+max-open when it gave none and the gate was closed; nil keeps an open
// gate's lease (or gives a closed one without max-open none).
func leaseEnd(app platform.App, lease time.Duration, open bool, now time.Time) *time.Time {
	switch {
	case lease > 0:
	case !open && app.Gate.MaxOpen > 0:
		lease = app.Gate.MaxOpen
	default:
		return nil
	}
	t := now.Add(lease).UTC().Truncate(time.Second)
	return &t
}
