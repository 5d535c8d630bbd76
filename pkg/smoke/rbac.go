package smoke

import (
	"context"
	"strings"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// commandNeeds is what each command sends: the preflight every command
// runs and smoke chat's port-forward (smoke's own), and what the other
// plugins' verbs declare (Doctor.Needs: profile.Needs, costgate.Needs).
func (d *Doctor) commandNeeds() []access.Need {
	argo := d.Env.Config.Namespace
	var chat []access.Request
	for _, a := range d.appsInScope() {
		if c := a.Chat; c != nil {
			svc := c.Service.Namespace
			chat = append(chat,
				access.Request{Verb: "get", Resource: "services", Namespace: svc},
				access.Request{Verb: "list", Resource: "pods", Namespace: svc},
				access.Request{Verb: "create", Resource: "pods", Subresource: "portforward", Namespace: svc})
			if c.KeySecret != nil {
				chat = append(chat, access.Request{Verb: "get", Resource: "secrets", Namespace: c.KeySecret.Namespace})
			}
		}
	}
	needs := []access.Need{{Command: "every command's preflight", Required: true, Requests: []access.Request{
		{Verb: "list", Group: kube.AppProjects.GVR.Group, Resource: kube.AppProjects.GVR.Resource, Namespace: argo}}}}
	needs = append(needs, d.Needs...)
	if len(chat) > 0 {
		needs = append(needs, access.Need{Command: "smoke chat", Requests: access.Unique(chat)})
	}
	return needs
}

// rbac asks the API server, with one SelfSubjectAccessReview per distinct
// request, whether the current user may send what each command sends, and
// reports what is missing by command. A denied request of a required command
// (the profile verbs and the preflight every command runs) fails the check; one
// only optional commands need (apply --prune, costgate, smoke chat) warns, since
// least-privilege roles leave them out on purpose.
func (d *Doctor) rbac(ctx context.Context) Check {
	needs := d.commandNeeds()
	allowed := map[access.Request]bool{}
	for _, n := range needs {
		for _, r := range n.Requests {
			if _, asked := allowed[r]; asked {
				continue
			}
			ok, err := d.mayI(ctx, r)
			if err != nil {
				return fail("", "SelfSubjectAccessReview for %s: %v", r, d.Client.Explain(err, kube.Kind{}))
			}
			allowed[r] = ok
		}
	}
	var denied []string
	requiredDenied := false
	for _, n := range needs {
		var missing []access.Request
		for _, r := range n.Requests {
			if !allowed[r] {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			denied = append(denied, n.Command+": "+access.Describe(missing))
			requiredDenied = requiredDenied || n.Required
		}
	}
	const fix = "grant them with a Role or ClusterRole binding in those namespaces (costgate's server mode uses Argo CD RBAC instead)"
	switch {
	case requiredDenied:
		return fail(fix, "not allowed: %s", strings.Join(denied, "; "))
	case len(denied) > 0:
		return Check{Status: Warn, Fix: fix,
			Message: "the profile verbs are allowed; optional commands are not: " + strings.Join(denied, "; ")}
	}
	return pass("allowed all %d requests of %d commands", len(allowed), len(needs))
}

// mayI asks one SelfSubjectAccessReview.
func (d *Doctor) mayI(ctx context.Context, r access.Request) (bool, error) {
	ssar := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authv1.ResourceAttributes{
		Namespace: r.Namespace, Verb: r.Verb, Group: r.Group, Resource: r.Resource, Subresource: r.Subresource, Name: r.ResourceName,
	}}}
	// Argo CD's objects are asked of the cluster that runs it, the rest of
	// the one the workloads run on (the same one unless a hub deploys them).
	c := d.workloads()
	if r.Group == kube.Applications.GVR.Group || r.Namespace == d.Env.Config.Namespace {
		c = d.Client
	}
	res, err := c.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, ssar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}
