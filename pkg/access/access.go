package access

import (
	"slices"
	"strings"
)

// Request is one API request, as a SelfSubjectAccessReview asks about it. An
// empty Namespace is every namespace (a cluster-wide list). ResourceName, when
// set, is the one object the request acts on, as an RBAC rule's resourceNames
// grants it: a get, patch, update or delete of that name, or a list or watch
// with the field selector metadata.name=<name>. Empty is any object (and
// always so for create, which RBAC cannot restrict by name).
type Request struct {
	Verb, Group, Resource, Subresource, Namespace string
	ResourceName                                  string
}

// String reads "patch deployments.apps in serving".
func (r Request) String() string { return r.Verb + " " + r.Where() }

// Where is the resource and namespace: "deployments.apps in serving", or with
// a resource name "deployments/scale.apps raw-vllm in serving".
func (r Request) Where() string {
	what := r.Resource
	if r.Subresource != "" {
		what += "/" + r.Subresource
	}
	if r.Group != "" {
		what += "." + r.Group
	}
	if r.ResourceName != "" {
		what += " " + r.ResourceName
	}
	if r.Namespace == "" {
		return what + " in all namespaces"
	}
	return what + " in " + r.Namespace
}

// Requests builds, for every verb in every namespace, one request.
func Requests(group, resource string, verbs []string, namespaces ...string) []Request {
	var out []Request
	for _, ns := range namespaces {
		for _, v := range verbs {
			out = append(out, Request{Verb: v, Group: group, Resource: resource, Namespace: ns})
		}
	}
	return out
}

// Need is what one command sends. A Required command is one every persona
// runs (the preflight, profile status/wait); the others belong to some
// personas only (platform admin, on-call), so a least-privilege user may
// rightly lack them.
type Need struct {
	Command  string
	Required bool
	Requests []Request
}

// Describe lists requests with the verbs on one resource and namespace joined,
// in the order first asked: "get/patch configmaps in argocd, list pods in serving".
func Describe(rs []Request) string {
	var wheres []string
	verbs := map[string][]string{}
	for _, r := range rs {
		w := r.Where()
		if _, seen := verbs[w]; !seen {
			wheres = append(wheres, w)
		}
		if !slices.Contains(verbs[w], r.Verb) {
			verbs[w] = append(verbs[w], r.Verb)
		}
	}
	parts := make([]string, len(wheres))
	for i, w := range wheres {
		parts[i] = strings.Join(verbs[w], "/") + " " + w
	}
	return strings.Join(parts, ", ")
}

// Unique is rs without repeats, in first-asked order.
func Unique(rs []Request) []Request {
	var out []Request
	for _, r := range rs {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
