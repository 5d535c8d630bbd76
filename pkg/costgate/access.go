package costgate

import (
	"context"
	"fmt"
	"strings"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Permission is one request a verb makes, as RBAC grants it, and what it
// acts on, for server mode.
type Permission struct {
	access.Request
	// App is the gate's Application the request is for, Object and Name the
	// object it acts on: server mode asks Argo CD's RBAC (see ArgoCDBackend.Authorize).
	App    string    `json:"-"`
	Object kube.Kind `json:"-"`
	Name   string    `json:"-"`
	// ArgoAction is the Argo CD action a patch of the Application is in
	// server mode: "sync" (its .operation) or "update" (its annotations).
	ArgoAction string `json:"-"`
}

func permissions(k kube.Kind, namespace string, verbs ...string) []Permission {
	out := make([]Permission, 0, len(verbs))
	for _, v := range verbs {
		out = append(out, Permission{Request: access.Request{Verb: v, Group: k.GVR.Group, Resource: k.GVR.Resource, Namespace: namespace}})
	}
	return out
}

// SyncPermissions is what a core-mode sync needs: read the Application, set
// .operation and the refresh annotation, and watch the app.
func SyncPermissions(argoNamespace string, app platform.App) []Permission {
	out := permissions(kube.Applications, argoNamespace, "get", "patch", "list", "watch")
	for i := range out {
		out[i].App, out[i].Object, out[i].Name, out[i].ArgoAction = app.Name, kube.Applications, app.Name, "sync"
	}
	return out
}

// RecordPermissions is what recording on a gate's Application who opened it,
// why and until when needs: read and patch it (Argo CD: update).
func RecordPermissions(argoNamespace string, app platform.App) []Permission {
	out := permissions(kube.Applications, argoNamespace, "get", "patch")
	for i := range out {
		out[i].App, out[i].Object, out[i].Name, out[i].ArgoAction = app.Name, kube.Applications, app.Name, "update"
	}
	return out
}

// GatePermissions is what opening or closing a gate needs: record on its
// Application, read and patch its target (a scale gate's through /scale),
// and, to wait, watch the target and its pods.
func GatePermissions(argoNamespace string, app platform.App, wait bool) []Permission {
	w := WorkloadOf(app)
	if w.Name == "" {
		return RecordPermissions(argoNamespace, app)
	}
	out := permissions(w.Kind, w.Namespace, "get", "patch")
	if app.Gate.Kind == platform.GateScale {
		for i := range out {
			out[i].Subresource = "scale"
		}
	}
	if app.Gate.Kind == platform.GateScale && wait {
		out = append(out, permissions(w.Kind, w.Namespace, "get")...) // the object's status: ready replicas
	}
	if wait {
		out = append(out, permissions(w.Kind, w.Namespace, "list", "watch")...)
		out = append(out, permissions(kube.Pods, w.Namespace, "list", "watch")...)
	}
	for i := range out {
		out[i].App, out[i].Object, out[i].Name = app.Name, w.Kind, w.Name
	}
	return append(RecordPermissions(argoNamespace, app), out...)
}

// Authorize checks, before any write, every request in perms where the
// backend's mode authorizes it, so that a verb refused halfway does not leave
// a half-done change (a sync without the scale it was for). The error names
// every missing permission.
func (g *Gates) Authorize(ctx context.Context, perms []Permission) error {
	return g.Backend.Authorize(ctx, perms)
}

// MissingPermissionError says which requests RBAC does not allow.
type MissingPermissionError struct {
	Missing []string
	Context string
}

func (e *MissingPermissionError) Error() string {
	return fmt.Sprintf("missing permission (context %q): %s", e.Context, strings.Join(e.Missing, "; "))
}

// CloseSyncPermissions is what closing a sync gate needs, for the objects it
// deletes (objs): read the Application and clear its opener and lease
// (RecordPermissions) and, to skip what other apps deploy too, list them all; read and delete each object (server mode asks Argo CD's
// fine-grained delete/<group>/<kind>/<namespace>/<name> of each); and, to
// wait, watch the Application, list and watch each kind and the pods in each
// namespace.
func CloseSyncPermissions(argoNamespace string, app platform.App, objs []AppObject, wait bool) []Permission {
	appVerbs := []string{"list"}
	if wait { // until Argo CD has seen the objects gone
		appVerbs = append(appVerbs, "watch")
	}
	out := RecordPermissions(argoNamespace, app) // clears its opener and lease
	for _, p := range permissions(kube.Applications, argoNamespace, appVerbs...) {
		p.App, p.Object, p.Name = app.Name, kube.Applications, app.Name
		out = append(out, p)
	}
	watched := map[string]bool{}
	for _, o := range objs {
		verbs := []string{"get", "delete"}
		if k := o.Kind.GVR.String() + " " + o.Namespace; wait && !watched[k] {
			watched[k] = true
			verbs = append(verbs, "list", "watch")
		}
		for _, p := range permissions(o.Kind, o.Namespace, verbs...) {
			p.App, p.Object, p.Name = app.Name, o.Kind, o.Name
			out = append(out, p)
		}
	}
	for _, o := range objs {
		if k := "pods " + o.Namespace; wait && o.Namespace != "" && !watched[k] {
			watched[k] = true
			for _, p := range permissions(kube.Pods, o.Namespace, "list", "watch") {
				p.App, p.Object = app.Name, kube.Pods
				out = append(out, p)
			}
		}
	}
	return out
}
