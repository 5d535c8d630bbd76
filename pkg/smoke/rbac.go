package smoke

import (
	"context"
	"slices"
	"strings"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// request is one API request a command sends, as a SelfSubjectAccessReview asks
// about it. An empty namespace is every namespace (a cluster-wide list).
type request struct {
	verb, group, resource, subresource, namespace string
}

func (r request) String() string { return r.verb + " " + r.where() }

// where is the resource and namespace: "deployments.apps in serving".
func (r request) where() string {
	what := r.resource
	if r.subresource != "" {
		what += "/" + r.subresource
	}
	if r.group != "" {
		what += "." + r.group
	}
	if r.namespace == "" {
		return what + " in all namespaces"
	}
	return what + " in " + r.namespace
}

// describe lists requests with the verbs on one resource and namespace joined,
// in the order first asked: "get/patch configmaps in argocd, list pods in serving".
func describe(rs []request) string {
	var wheres []string
	verbs := map[string][]string{}
	for _, r := range rs {
		w := r.where()
		if _, seen := verbs[w]; !seen {
			wheres = append(wheres, w)
		}
		if !slices.Contains(verbs[w], r.verb) {
			verbs[w] = append(verbs[w], r.verb)
		}
	}
	parts := make([]string, len(wheres))
	for i, w := range wheres {
		parts[i] = strings.Join(verbs[w], "/") + " " + w
	}
	return strings.Join(parts, ", ")
}

// commandNeeds is what one command sends. Required commands are the ones every
// persona runs (the preflight, profile status/wait): a denial fails the check.
// The others (apply, pruning, the cost gates, the chat probe) belong to some
// personas only (platform admin, on-call operator), so a least-privilege user
// may rightly lack them: a denial warns, naming the command.
type commandNeeds struct {
	command  string
	required bool
	requests []request
}

// requests builds, for every verb in namespaces, one request per resource.
func requests(group, resource string, verbs []string, namespaces ...string) []request {
	var out []request
	for _, ns := range namespaces {
		for _, v := range verbs {
			out = append(out, request{verb: v, group: group, resource: resource, namespace: ns})
		}
	}
	return out
}

var (
	getListWatchPatch = []string{"get", "list", "watch", "patch"}
	listWatch         = []string{"list", "watch"}
)

// commandNeeds lists, per command, the requests it sends and where: Argo CD's
// namespace for the Argo CD objects and the ApplySet parent; each gate
// target's namespace (from the catalog, for the apps in scope) for the
// workloads; each chat app's Service and key Secret namespaces for the probe.
// It mirrors the code of the commands, which is where a change belongs first.
func (d *Doctor) commandNeeds() []commandNeeds {
	argo := d.Env.Config.Namespace
	var scaleNS, pauseNS []string
	var chat []request
	for _, a := range d.appsInScope() {
		if g := a.Gate; g != nil && g.Target != nil {
			switch g.Kind {
			case platform.GateScale:
				scaleNS = appendNew(scaleNS, g.Target.Namespace)
			case platform.GatePause:
				pauseNS = appendNew(pauseNS, g.Target.Namespace)
			}
		}
		if c := a.Chat; c != nil {
			svc := c.Service.Namespace
			chat = append(chat,
				request{verb: "get", resource: "services", namespace: svc},
				request{verb: "list", resource: "pods", namespace: svc},
				request{verb: "create", resource: "pods", subresource: "portforward", namespace: svc})
			if c.KeySecret != nil {
				chat = append(chat, request{verb: "get", resource: "secrets", namespace: c.KeySecret.Namespace})
			}
		}
	}
	slices.Sort(scaleNS)
	slices.Sort(pauseNS)
	argoproj := kube.Applications.GVR.Group
	kserve := kube.InferenceServices.GVR.Group
	var upDown []request
	upDown = append(upDown, request{verb: "get", group: argoproj, resource: "applications", namespace: argo})
	upDown = append(upDown, requests("apps", "deployments", getListWatchPatch, scaleNS...)...)
	upDown = append(upDown, requests("", "pods", listWatch, scaleNS...)...)
	upDown = append(upDown, requests("keda.sh", "scaledobjects", []string{"list"}, scaleNS...)...)
	upDown = append(upDown, requests(kserve, "inferenceservices", getListWatchPatch, pauseNS...)...)
	upDown = append(upDown, requests("", "pods", listWatch, pauseNS...)...)
	pauseResume := append(requests(kserve, "inferenceservices", getListWatchPatch, pauseNS...), requests("", "pods", listWatch, pauseNS...)...)

	needs := []commandNeeds{
		{command: "every command's preflight", required: true, requests: []request{
			{verb: "list", group: argoproj, resource: "appprojects", namespace: argo}}},
		{command: "profile status/wait", required: true, requests: []request{
			{verb: "get", resource: "configmaps", namespace: argo},
			{verb: "list", group: argoproj, resource: "applicationsets", namespace: argo},
			{verb: "list", group: argoproj, resource: "applications", namespace: argo},
			{verb: "watch", group: argoproj, resource: "applications", namespace: argo}}},
		// Server-side apply is a patch, its dry run too; the ApplySet parent is a ConfigMap.
		{command: "profile apply", requests: []request{
			{verb: "get", resource: "configmaps", namespace: argo},
			{verb: "patch", resource: "configmaps", namespace: argo},
			{verb: "list", group: argoproj, resource: "applicationsets", namespace: argo},
			{verb: "patch", group: argoproj, resource: "applicationsets", namespace: argo},
			{verb: "list", group: argoproj, resource: "appprojects", namespace: argo},
			{verb: "patch", group: argoproj, resource: "appprojects", namespace: argo}}},
		{command: "profile apply --prune", requests: []request{
			{verb: "delete", group: argoproj, resource: "applicationsets", namespace: argo},
			{verb: "watch", group: argoproj, resource: "applicationsets", namespace: argo}}},
		// costgate list reads every namespace's Deployments and InferenceServices
		// in one LIST each (costgate.ReadLive).
		{command: "costgate list", requests: []request{
			{verb: "list", group: argoproj, resource: "applications", namespace: argo},
			{verb: "list", group: "apps", resource: "deployments"},
			{verb: "list", group: kserve, resource: "inferenceservices"}}},
		{command: "costgate sync", requests: requests(argoproj, "applications", getListWatchPatch, argo)},
	}
	if len(scaleNS)+len(pauseNS) > 0 {
		needs = append(needs, commandNeeds{command: "costgate up/down", requests: upDown})
	}
	if len(pauseNS) > 0 {
		needs = append(needs, commandNeeds{command: "costgate pause/resume", requests: pauseResume})
	}
	if len(chat) > 0 {
		needs = append(needs, commandNeeds{command: "smoke chat", requests: chat})
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
	allowed := map[request]bool{}
	for _, n := range needs {
		for _, r := range n.requests {
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
		var missing []request
		for _, r := range n.requests {
			if !allowed[r] {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			denied = append(denied, n.command+": "+describe(missing))
			requiredDenied = requiredDenied || n.required
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
func (d *Doctor) mayI(ctx context.Context, r request) (bool, error) {
	ssar := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authv1.ResourceAttributes{
		Namespace: r.namespace, Verb: r.verb, Group: r.group, Resource: r.resource, Subresource: r.subresource,
	}}}
	res, err := d.Client.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, ssar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
