package costgate

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// SyncGateNotIdle is idle's decision for an open sync gate without an idle
// query: nothing says what traffic it serves.
const SyncGateNotIdle = "kept: a sync gate without " + platform.GateAnnotationPrefix + "idle-query: only leases and uptime windows close it"

// gateTarget names what a gate acts on in idle's decisions: its target, or a
// sync gate's Application.
func gateTarget(app platform.App) string {
	if app.Gate.Target != nil {
		return app.Gate.Target.String()
	}
	return "Application/" + app.Name
}

// syncGateScope is what a sync gate's idle-query fills $namespace and $name
// with: its Application's destination namespace, and its name.
func syncGateScope(app platform.App) (namespace, name string) {
	namespace, _, _ = unstructured.NestedString(app.Manifest, "spec", "destination", "namespace")
	return namespace, app.Name
}
