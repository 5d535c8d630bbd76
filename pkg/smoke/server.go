package smoke

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ArgoAPI is what doctor can ask Argo CD's API in server mode (pkg/argocd/rest).
type ArgoAPI interface {
	Server() string
	Version(ctx context.Context) (string, error)
	UserInfo(ctx context.Context) (loggedIn bool, username string, err error)
	Applications(ctx context.Context, project string) ([]*unstructured.Unstructured, error)
	ApplicationSets(ctx context.Context, project string) ([]*unstructured.Unstructured, error)
	CanI(ctx context.Context, resource, action, object string) (bool, error)
}

// needsKubernetes is why a check is skipped in server mode.
const needsKubernetes = "needs the Kubernetes API: run with --core (and a kubeconfig) to check it"

// runServer is Run through Argo CD's API alone: what can be checked there is,
// every other check is SKIP, saying it needs the Kubernetes API.
func (d *Doctor) runServer(ctx context.Context, run func(string, func(context.Context) Check) Check, skip func(string, ...string)) {
	if c := run("argocd-server", d.argoServer); c.Status == Fail {
		return
	}
	if c := run("argocd-token", d.argoToken); c.Status == Fail {
		return
	}
	skip(needsKubernetes, "cluster", "argocd-crds", "argocd-namespace", "argocd-controllers")
	run("groups-fresh", d.groupsFresh)
	if d.Profile == nil {
		skip("no --profile given", "profile-apps")
	} else {
		run("profile-apps", d.profileApps)
	}
	skip(needsKubernetes, "profile-objects", "gpu-capacity", "default-storageclass", "loadbalancers", "serving-secrets")
	run("argocd-rbac", d.argoRBAC)
}

func (d *Doctor) argoServer(ctx context.Context) Check {
	v, err := d.Argo.Version(ctx)
	if err != nil {
		return fail("check --server (or ARGOCD_SERVER, or the argocd config's context), --plaintext and --grpc-web-root-path", "%v", err)
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
		object := d.Env.Descriptor.Project + "/" + a.Name
		actions := []string{"get"}
		if a.Gate != nil {
			actions = append(actions, "sync")
		}
		for _, action := range actions {
			ok, err := d.Argo.CanI(ctx, "applications", action, object)
			if err != nil {
				return fail("", "asking Argo CD's RBAC: %v", err)
			}
			if !ok {
				missing = append(missing, "applications, "+action+", "+object)
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
