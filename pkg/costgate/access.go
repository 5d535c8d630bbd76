package costgate

import (
	"context"
	"fmt"
	"strings"
	"sync"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Permission is one request a verb makes, as RBAC grants it.
type Permission struct {
	Verb      string
	Group     string
	Resource  string
	Namespace string
	// App is the gate's Application the request is for, Object and Name the
	// object it acts on: server mode asks Argo CD's RBAC (see authorizeAPI).
	App    string    `json:"-"`
	Object kube.Kind `json:"-"`
	Name   string    `json:"-"`
}

// String reads the way kubectl auth can-i is asked: "patch deployments.apps in serving".
func (p Permission) String() string {
	r := p.Resource
	if p.Group != "" {
		r += "." + p.Group
	}
	return p.Verb + " " + r + " in " + p.Namespace
}

func permissions(k kube.Kind, namespace string, verbs ...string) []Permission {
	out := make([]Permission, 0, len(verbs))
	for _, v := range verbs {
		out = append(out, Permission{Verb: v, Group: k.GVR.Group, Resource: k.GVR.Resource, Namespace: namespace})
	}
	return out
}

// SyncPermissions is what a core-mode sync needs once it has read the
// Application: set .operation and the refresh annotation, and watch the app.
func SyncPermissions(argoNamespace string, app platform.App) []Permission {
	out := permissions(kube.Applications, argoNamespace, "patch", "list", "watch")
	for i := range out {
		out[i].App, out[i].Object, out[i].Name = app.Name, kube.Applications, app.Name
	}
	return out
}

// GatePermissions is what opening or closing a scale or pause gate needs: read
// and patch its target, and, to wait, watch the target and its pods.
func GatePermissions(app platform.App, wait bool) []Permission {
	t := app.Gate.Target
	kind := kube.Deployments
	if app.Gate.Kind == platform.GatePause {
		kind = kube.InferenceServices
	}
	out := permissions(kind, t.Namespace, "get", "patch")
	if wait {
		out = append(out, permissions(kind, t.Namespace, "list", "watch")...)
		out = append(out, permissions(kube.Pods, t.Namespace, "list", "watch")...)
	}
	for i := range out {
		out[i].App, out[i].Object, out[i].Name = app.Name, kind, t.Name
	}
	return out
}

// Authorize asks the API server (one SelfSubjectAccessReview each, in parallel)
// whether the current user may make every request in perms, so that a verb
// refused halfway does not leave a half-done change (a sync without the scale
// it was for). The error names every missing permission.
func (g *Gates) Authorize(ctx context.Context, perms []Permission) error {
	if g.API != nil {
		return g.authorizeAPI(ctx, perms)
	}
	allowed := make([]bool, len(perms))
	errs := make([]error, len(perms))
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Go(func() {
			review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authv1.ResourceAttributes{Namespace: p.Namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource},
			}}
			res, err := g.Client.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			allowed[i] = res.Status.Allowed
		})
	}
	wg.Wait()
	var missing []string
	for i, p := range perms {
		if errs[i] != nil {
			return fmt.Errorf("cannot check the permission to %s: %w", p, g.explainReview(errs[i]))
		}
		if !allowed[i] {
			missing = append(missing, p.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &MissingPermissionError{Missing: missing, Context: g.Client.Context}
}

func (g *Gates) explainReview(err error) error {
	return g.Client.Explain(err, kube.Kind{GVR: authv1.SchemeGroupVersion.WithResource("selfsubjectaccessreviews"), Kind: "SelfSubjectAccessReview"})
}

// MissingPermissionError says which requests RBAC does not allow.
type MissingPermissionError struct {
	Missing []string
	Context string
}

func (e *MissingPermissionError) Error() string {
	return fmt.Sprintf("missing permission (context %q): %s", e.Context, strings.Join(e.Missing, "; "))
}
