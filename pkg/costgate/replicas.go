package costgate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// MaxReplicasAnnotation caps what `up --replicas` may ask of a scale gate
// without --force: a typo (100000) must not order a hundred thousand GPUs, nor
// be remembered for the next up.
const MaxReplicasAnnotation = platform.GateAnnotationPrefix + "max-replicas"

// DefaultMaxReplicas is the cap of a scale gate without the annotation.
const DefaultMaxReplicas = 8

// MaxReplicas reads a scale gate's cap from its catalog annotation. The
// platform model does not know this annotation, so it is checked here (and by
// lint) with an error that names the app, the annotation and the file.
func MaxReplicas(app platform.App) (int32, error) {
	meta, _ := app.Manifest["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	raw, set := annotations[MaxReplicasAnnotation]
	if !set {
		return DefaultMaxReplicas, nil
	}
	s, _ := raw.(string)
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("Application %s: annotation %s: %q is not a positive whole number (fix %s)", app.Name, MaxReplicasAnnotation, fmt.Sprint(raw), app.File)
	}
	return int32(n), nil
}

// CheckReplicas refuses a replica count above the gate's cap unless forced.
// what says where the count comes from, for the message ("--replicas 12").
func CheckReplicas(app platform.App, replicas int64, what string, force bool) error {
	limit, err := MaxReplicas(app)
	if err != nil {
		return err
	}
	if replicas <= int64(limit) || force {
		return nil
	}
	return fmt.Errorf("%s is above %s's maximum of %d (annotation %s): pass --force to go above it, or raise the annotation in %s",
		what, app.Name, limit, MaxReplicasAnnotation, app.File)
}
