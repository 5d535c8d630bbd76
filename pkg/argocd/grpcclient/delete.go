package grpcclient

import (
	"context"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// DeleteResource deletes an object app deploys through Argo CD's
// ApplicationService.DeleteResource, with orphan and force false: Argo CD then
// deletes it with foreground propagation (its dependents, a Deployment's pods,
// go first). Argo CD finds the object in the app's resource tree by group,
// kind, namespace and name, and takes no precondition. Its RBAC is
// `applications, delete/<group>/<kind>/<namespace>/<name>, <project>/<app>`
// (since Argo CD 3; the app's plain delete where fine-grained inheritance is
// turned back on); a refusal wraps argocd.ErrPermissionDenied. An object the
// tree does not hold, or the API server no longer has, is apierrors NotFound.
// Made again on a new connection: a second delete of what the first deleted
// finds nothing (NotFound), which the caller reads as gone.
func (s *Client) DeleteResource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string) error {
	orphan, force := false, false
	r := resourceRequest(app, gvk, namespace, name)
	return s.call(ctx, "deleting "+gvk.Kind+" "+namespace+"/"+name, true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) error {
		_, err := apps.DeleteResource(ctx, &applicationpkg.ApplicationResourceDeleteRequest{
			Name: r.Name, Namespace: r.Namespace, ResourceName: r.ResourceName,
			Group: r.Group, Version: r.Version, Kind: r.Kind, Orphan: &orphan, Force: &force,
		})
		return s.objectError(err, gvk, name)
	})
}
