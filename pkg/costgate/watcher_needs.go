package costgate

import (
	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// LeaseName is the watcher's leader Lease (its --leader-election-id default).
const LeaseName = "costgate-watcher"

// WatcherNeeds is what `kubectl costgate watch`, running in the cluster, sends
// to the Kubernetes API for the gates the config brings up (Configured), one
// Need per namespace (Argo CD's first, then the watcher's own, then each gate's
// in catalog order; a cluster-wide one last), built from the permissions the
// verbs check before they write:
//
//   - in Argo CD's namespace: list and watch every Application; get and patch
//     each gate's Application (RecordPermissions: it records there why it
//     closed); create events;
//   - per scale or pause gate: closing it (GatePermissions without the wait:
//     get and patch the target's /scale, or the InferenceService), get, list
//     and watch the target (a metadata.name field selector: RBAC grants it by
//     name); it reads no pods (a target's ready replicas say it all);
//   - per sync gate: what down of it needs without the wait
//     (CloseSyncPermissions of what it deploys from this repository, DeployedBy);
//   - in its own namespace: create leases, get and update its own (leader election).
//
// Requests on one object carry its ResourceName, so that the shipped roles
// (the costgate-watcher workload of each tree, `go run ./hack/watcherrbac`)
// grant them with resourceNames: the watcher cannot patch an ungated Deployment
// or Application. A list or watch of a whole kind and a create are not named;
// its Lease is named after its default --leader-election-id. A config
// that turns a gate on or off changes these needs, and the roles must follow.
func WatcherNeeds(env *platform.Env, watcherNamespace string) []access.Need {
	argo := env.Config.Namespace
	var reqs []access.Request
	add := func(perms []Permission, listByName bool) {
		for _, p := range perms {
			reqs = append(reqs, namedRequest(p, listByName))
		}
	}
	reqs = append(reqs, access.Requests(kube.Applications.GVR.Group, kube.Applications.GVR.Resource, []string{"list", "watch"}, argo)...)
	for _, a := range Configured(env) {
		add(RecordPermissions(argo, a), false)
		if a.Gate.Kind == platform.GateSync {
			add(CloseSyncPermissions(argo, a, DeployedBy(env, a), false), false)
			continue
		}
		add(GatePermissions(argo, a, false), false)
		w := WorkloadOf(a)
		target := permissions(w.Kind, w.Namespace, "get", "list", "watch")
		for i := range target {
			target[i].App, target[i].Object, target[i].Name = a.Name, w.Kind, w.Name
		}
		add(target, true)
	}
	reqs = append(reqs, access.Request{Verb: "create", Resource: "events", Namespace: argo})
	reqs = append(reqs, access.Request{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: watcherNamespace})
	for _, verb := range []string{"get", "update"} {
		reqs = append(reqs, access.Request{Verb: verb, Group: "coordination.k8s.io", Resource: "leases", Namespace: watcherNamespace, ResourceName: LeaseName})
	}

	order := []string{argo}
	if watcherNamespace != argo {
		order = append(order, watcherNamespace)
	}
	byNamespace := map[string][]access.Request{}
	for _, r := range access.Unique(reqs) {
		if _, seen := byNamespace[r.Namespace]; !seen && r.Namespace != argo && r.Namespace != watcherNamespace && r.Namespace != "" {
			order = append(order, r.Namespace)
		}
		byNamespace[r.Namespace] = append(byNamespace[r.Namespace], r)
	}
	order = append(order, "")
	var needs []access.Need
	for _, ns := range order {
		if len(byNamespace[ns]) == 0 {
			continue
		}
		where := "in " + ns
		if ns == "" {
			where = "cluster-wide"
		}
		needs = append(needs, access.Need{Command: "costgate watch (" + where + ")", Requests: byNamespace[ns]})
	}
	return needs
}

// namedRequest is p's request, named after the one object it acts on where
// RBAC can grant it by name: a get, patch, update or delete, and a list or
// watch asked with a metadata.name field selector (listByName).
func namedRequest(p Permission, listByName bool) access.Request {
	r := p.Request
	switch r.Verb {
	case "get", "patch", "update", "delete":
		r.ResourceName = p.Name
	case "list", "watch":
		if listByName {
			r.ResourceName = p.Name
		}
	}
	return r
}
