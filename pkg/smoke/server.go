package smoke

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// ArgoAPI is what doctor can ask Argo CD's API in server mode (pkg/argocd/rest).
type ArgoAPI interface {
	Server() string
	Version(ctx context.Context) (string, error)
	UserInfo(ctx context.Context) (loggedIn bool, username string, err error)
	Applications(ctx context.Context, project string) ([]*unstructured.Unstructured, error)
	ApplicationSets(ctx context.Context, project string) ([]*unstructured.Unstructured, error)
	CanI(ctx context.Context, resource, action, object string) (bool, error)
	// Resource reads the live state of an object an Application manages.
	Resource(ctx context.Context, app, project string, ref rest.ResourceRef) (*unstructured.Unstructured, error)
	ProjectExists(ctx context.Context, name string) (bool, error)
	// RepositoryRefs asks the repo-server for a repository's branches and tags.
	RepositoryRefs(ctx context.Context, repoURL string) (branches, tags []string, err error)
}

// needsKubernetes is why a check is skipped in server mode, saying how to
// leave it in the running CLI.
func (d *Doctor) needsKubernetes() string {
	if d.Env.Host == platform.HostArgoCD {
		return "needs the Kubernetes API: run with --core (and a kubeconfig) to check it"
	}
	return "needs the Kubernetes API: run without --argocd-server (and with a kubeconfig) to check it"
}

func (d *Doctor) argoServer(ctx context.Context) Check {
	v, err := d.Argo.Version(ctx)
	if err != nil {
		return fail(fmt.Sprintf("check %s (or ARGOCD_SERVER, or the argocd config's context), --plaintext and --grpc-web-root-path", d.serverFlag()), "%v", err)
	}
	return pass("Argo CD %s answers at %s", v, d.Argo.Server())
}

func (d *Doctor) argoToken(ctx context.Context) Check {
	ok, user, err := d.Argo.UserInfo(ctx)
	if err != nil {
		return fail("argocd login (or a fresh token in ARGOCD_AUTH_TOKEN)", "%v", err)
	}
	if !ok {
		return fail("argocd login (or a fresh token in ARGOCD_AUTH_TOKEN)", "Argo CD does not take the token: not logged in")
	}
	return pass("the token is %s's", user)
}

// argoRBAC asks Argo CD, for the apps in scope, whether the token may read them
// and sync the gates (the rest of each gate's rights is checked by the verb).
func (d *Doctor) argoRBAC(ctx context.Context) Check {
	var missing []string
	for _, a := range d.appsInScope() {
		policies := []string{"applications, get, " + d.Env.Descriptor.Project + "/" + a.Name}
		if a.Gate != nil {
			policies = d.GatePolicies[a.Name]
		}
		for _, p := range policies {
			f := strings.SplitN(p, ", ", 3)
			if len(f) != 3 || strings.HasPrefix(f[1], "update/") || strings.HasPrefix(f[1], "delete/") {
				continue // can-i cannot be asked about an app's resources: up and down probe or try them
			}
			ok, err := d.Argo.CanI(ctx, f[0], f[1], f[2])
			if err != nil {
				return fail("", "asking Argo CD's RBAC: %v", err)
			}
			if !ok {
				missing = append(missing, p)
			}
		}
	}
	if len(missing) > 0 {
		return Check{Status: Warn, Message: fmt.Sprintf("the token may not: %s", strings.Join(missing, "; ")),
			Fix: "grant the roles of deploy/argocd-rbac/policy.csv (argocd-rbac-cm)"}
	}
	return pass("the token may read every app in scope and sync its gates")
}

// serverApplications lists the Applications through Argo CD's API.
func (d *Doctor) serverApplications(ctx context.Context) (*unstructured.UnstructuredList, error) {
	apps, err := d.Argo.Applications(ctx, d.Env.Descriptor.Project)
	if err != nil {
		return nil, err
	}
	list := &unstructured.UnstructuredList{}
	for _, a := range apps {
		list.Items = append(list.Items, *a)
	}
	return list, nil
}

// serverFlag is the running CLI's flag for the Argo CD server.
func (d *Doctor) serverFlag() string {
	if d.Env.Host == platform.HostArgoCD {
		return "--server"
	}
	return "--argocd-server"
}
