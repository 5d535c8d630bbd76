package profile

import (
	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Needs is what each profile verb sends to the Kubernetes API: status and
// wait read, apply writes server-side (a patch, its dry run too) with the
// ApplySet parent a ConfigMap, and --prune deletes and watches.
func Needs(argoNamespace string) []access.Need {
	argo := func(verb string, k kube.Kind) access.Request {
		return access.Request{Verb: verb, Group: k.GVR.Group, Resource: k.GVR.Resource, Namespace: argoNamespace}
	}
	return []access.Need{
		{Command: "profile status/wait", Required: true, Requests: []access.Request{
			argo("get", kube.ConfigMaps), argo("list", kube.ApplicationSets), argo("watch", kube.ApplicationSets),
			argo("list", kube.Applications), argo("watch", kube.Applications)}},
		{Command: "profile apply", Requests: []access.Request{
			argo("get", kube.ConfigMaps), argo("patch", kube.ConfigMaps),
			argo("list", kube.ApplicationSets), argo("patch", kube.ApplicationSets),
			argo("get", kube.AppProjects), argo("list", kube.AppProjects), argo("patch", kube.AppProjects)}},
		{Command: "profile apply --prune", Requests: []access.Request{
			argo("delete", kube.ApplicationSets), argo("watch", kube.ApplicationSets)}},
	}
}
