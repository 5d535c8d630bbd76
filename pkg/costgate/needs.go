package costgate

import (
	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Needs is what each costgate verb sends to the Kubernetes API for gates
// (core mode), built from the same permissions the verbs check before their
// first write: smoke doctor asks them, deploy/rbac grants them. listed are
// the gates list shows (Configured), gates those the other verbs act on.
func Needs(argoNamespace string, listed, gates []platform.App) []access.Need {
	list := []access.Request{{Verb: "list", Group: kube.Applications.GVR.Group, Resource: kube.Applications.GVR.Resource, Namespace: argoNamespace}}
	kinds := map[kube.Kind]bool{}
	// sync's requests are the same for every app (the Application, in Argo CD's namespace).
	sync := requestsOf(SyncPermissions(argoNamespace, platform.App{}))
	var upDown, pauseResume []access.Request
	for _, w := range Workloads(listed) {
		if !kinds[w.Kind] { // list reads each workload kind in one cluster-wide LIST
			kinds[w.Kind] = true
			list = append(list, access.Request{Verb: "list", Group: w.Kind.GVR.Group, Resource: w.Kind.GVR.Resource})
		}
	}
	for _, a := range gates {
		if a.Gate.Kind == platform.GateSync {
			continue
		}
		gate := append(requestsOf(GatePermissions(argoNamespace, a, true)), access.Request{Verb: "get", Group: kube.Applications.GVR.Group, Resource: kube.Applications.GVR.Resource, Namespace: argoNamespace})
		switch a.Gate.Kind {
		case platform.GateScale:
			w := WorkloadOf(a)
			upDown = append(upDown, gate...)
			upDown = append(upDown, access.Request{Verb: "list", Group: ScaledObjects.GVR.Group, Resource: ScaledObjects.GVR.Resource, Namespace: w.Namespace},
				access.Request{Verb: "list", Group: kube.HPAs.GVR.Group, Resource: kube.HPAs.GVR.Resource, Namespace: w.Namespace})
		case platform.GatePause:
			upDown = append(upDown, gate...)
			pauseResume = append(pauseResume, gate...)
		}
	}
	needs := []access.Need{{Command: "costgate list", Requests: list}, {Command: "costgate sync", Requests: sync}}
	if len(upDown) > 0 {
		needs = append(needs, access.Need{Command: "costgate up/down", Requests: access.Unique(upDown)})
	}
	if len(pauseResume) > 0 {
		needs = append(needs, access.Need{Command: "costgate pause/resume", Requests: access.Unique(pauseResume)})
	}
	return needs
}

func requestsOf(perms []Permission) []access.Request {
	out := make([]access.Request, len(perms))
	for i, p := range perms {
		out[i] = p.Request
	}
	return out
}

// ArgoPolicies is what the gate's verbs need of Argo CD's RBAC in server
// mode, written as argocd-rbac-cm's policy lines write them
// ("applications, sync, platform/raw-vllm"): the same needs their checks
// before a write ask (ArgoCDBackend.Authorize).
func ArgoPolicies(project, argoNamespace string, app platform.App) []string {
	perms := SyncPermissions(argoNamespace, app)
	if app.Gate.Kind != platform.GateSync {
		perms = append(perms, GatePermissions(argoNamespace, app, true)...)
	}
	var out []string
	for _, n := range argoNeeds(project, perms) {
		out = append(out, "applications, "+n.action+", "+n.object)
	}
	return out
}
