package smoke

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// part is one prerequisite of a check that has several: its status, what was
// found, and the fix when it fails.
type part struct {
	status, message, fix string
}

// combine makes one check of its parts: the worst status; all messages on one
// line when it passes, else one line each.
func combine(parts []part) Check {
	status := Pass
	var msgs, fixes []string
	for _, p := range parts {
		if rank(p.status) > rank(status) {
			status = p.status
		}
		msgs = append(msgs, p.message)
		if p.fix != "" && p.status != Pass {
			fixes = append(fixes, p.fix)
		}
	}
	sep := "; "
	if status != Pass {
		sep = "\n"
	}
	return Check{Status: status, Message: strings.Join(msgs, sep), Fix: strings.Join(fixes, "; ")}
}

func rank(status string) int {
	switch status {
	case Fail:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// argoBootstrap checks what profile apply needs before the first apply: an
// Argo CD the tree supports, the repository readable by the repo-server, and
// the descriptor's AppProject.
func (d *Doctor) argoBootstrap(ctx context.Context) Check {
	return combine([]part{d.argoVersionPart(ctx), d.repoPart(ctx), d.projectPart(ctx)})
}

func (d *Doctor) argoVersionPart(ctx context.Context) part {
	min := d.Env.Descriptor.ArgoCDMinVersion()
	version, where, err := d.argoVersion(ctx)
	if err != nil {
		return part{Fail, "Argo CD's version: " + err.Error(), ""}
	}
	if version == "" {
		if min == "" {
			return part{Pass, "Argo CD's version not found (" + where + "); platform.yaml sets no argocd.minVersion: not checked", ""}
		}
		return part{Warn, fmt.Sprintf("Argo CD's version not found (%s): cannot check it against %s (platform.yaml argocd.minVersion)", where, min),
			"run doctor with --argocd-server, which asks Argo CD's /api/version"}
	}
	if min == "" {
		return part{Pass, fmt.Sprintf("Argo CD %s (%s); platform.yaml sets no argocd.minVersion: not checked", version, where), ""}
	}
	supported, ok := platform.ArgoCDVersionSupported(version, min)
	switch {
	case !ok:
		return part{Warn, fmt.Sprintf("Argo CD version %q (%s) is no version to compare with %s", version, where, min), ""}
	case !supported:
		return part{Fail, fmt.Sprintf("Argo CD %s (%s) is older than %s, the oldest this tree supports (platform.yaml argocd.minVersion)", version, where, min),
			fmt.Sprintf("upgrade Argo CD to %s or newer (the argo-cd Helm release, docs/bootstrap.md)", min)}
	}
	return part{Pass, fmt.Sprintf("Argo CD %s (%s) is at least %s", version, where, min), ""}
}

// argoVersion is Argo CD's version and where it was read: /api/version in
// server mode; in core mode the image tag of its workloads, else the
// app.kubernetes.io/version label its Helm chart puts on them and on argocd-cm.
func (d *Doctor) argoVersion(ctx context.Context) (version, where string, err error) {
	if d.Argo != nil {
		v, err := d.Argo.Version(ctx)
		if err != nil {
			return "", "", err
		}
		return v, "/api/version", nil
	}
	ns := d.Env.Config.Namespace
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/part-of=argocd"}
	if deps, err := d.Client.Typed.AppsV1().Deployments(ns).List(ctx, sel); err == nil {
		for _, dep := range deps.Items {
			for _, c := range dep.Spec.Template.Spec.Containers {
				if tag := argoImageTag(c.Image); tag != "" {
					return tag, fmt.Sprintf("image %s of Deployment %s/%s", c.Image, ns, dep.Name), nil
				}
			}
			if v := dep.Labels["app.kubernetes.io/version"]; v != "" {
				return v, fmt.Sprintf("label app.kubernetes.io/version of Deployment %s/%s", ns, dep.Name), nil
			}
		}
	}
	if sts, err := d.Client.Typed.AppsV1().StatefulSets(ns).List(ctx, sel); err == nil {
		for _, s := range sts.Items {
			for _, c := range s.Spec.Template.Spec.Containers {
				if tag := argoImageTag(c.Image); tag != "" {
					return tag, fmt.Sprintf("image %s of StatefulSet %s/%s", c.Image, ns, s.Name), nil
				}
			}
		}
	}
	if cm, err := d.Client.Typed.CoreV1().ConfigMaps(ns).Get(ctx, "argocd-cm", metav1.GetOptions{}); err == nil {
		if v := cm.Labels["app.kubernetes.io/version"]; v != "" {
			return v, fmt.Sprintf("label app.kubernetes.io/version of ConfigMap %s/argocd-cm", ns), nil
		}
	}
	return "", fmt.Sprintf("no Argo CD image or app.kubernetes.io/version label in namespace %s", ns), nil
}

// argoImageTag is the tag of an Argo CD image (quay.io/argoproj/argocd:v3.1.8), else "".
func argoImageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	repo, tag, ok := strings.Cut(image[slash+1:], ":")
	if !ok || repo != "argocd" {
		return ""
	}
	return tag
}

func (d *Doctor) projectPart(ctx context.Context) part {
	name, ns := d.Env.Descriptor.Project, d.Env.Config.Namespace
	fix := fmt.Sprintf("%s apply PROFILE --env %s creates it from the tree (or create AppProject %s in %s)", d.Env.Host.Cmd("profile"), d.Env.Name, name, ns)
	var exists bool
	if d.Argo != nil {
		var err error
		exists, err = d.Argo.ProjectExists(ctx, name)
		if rest.IsPermissionDenied(err) {
			// A token may read the project's apps and not the project: its
			// Applications are then the evidence it exists.
			if apps, aerr := d.applications(ctx); aerr == nil && len(apps.Items) > 0 {
				return part{Pass, fmt.Sprintf("AppProject %s holds %d Application(s) (the token may not get projects: Argo CD RBAC)", name, len(apps.Items)), ""}
			}
			return part{Warn, fmt.Sprintf("AppProject %s: cannot tell: the token may not get projects and reads no Application of it (Argo CD RBAC)", name),
				"run doctor with a token that may get projects, or in core mode"}
		}
		if err != nil {
			return part{Fail, fmt.Sprintf("AppProject %s: %v", name, err), ""}
		}
	} else {
		_, err := d.Client.Resource(kube.AppProjects, ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return part{Fail, fmt.Sprintf("AppProject %s: %v", name, d.Client.Explain(err, kube.AppProjects)), ""}
		}
		exists = err == nil
	}
	if !exists {
		return part{Fail, fmt.Sprintf("AppProject %s (platform.yaml project:) does not exist in %s", name, ns), fix}
	}
	return part{Pass, fmt.Sprintf("AppProject %s exists", name), ""}
}

// repoPart checks that the repo-server can read config.yaml's repoURL: in
// server mode by asking it for the repository's refs; in core mode from what
// Argo CD reports of the Applications and ApplicationSets that read it.
func (d *Doctor) repoPart(ctx context.Context) part {
	repo := d.Env.Config.RepoURL
	fix := fmt.Sprintf("make %s exist and readable by the repo-server (a public repository, or a repository Secret with its credentials in %s)", repo, d.Env.Config.Namespace)
	cannotAsk := "core mode cannot ask the repo-server (server mode does: --argocd-server)"
	if d.Argo != nil {
		branches, tags, err := d.Argo.RepositoryRefs(ctx, repo)
		switch {
		case rest.IsPermissionDenied(err):
			// The token may not get repositories: what Argo CD reports of the
			// apps that read it says as much.
			cannotAsk = "the token may not ask the repo-server (Argo CD RBAC: repositories, get)"
		case err != nil:
			return part{Fail, fmt.Sprintf("the repo-server cannot list the refs of %s: %v", repo, err), fix}
		default:
			return part{Pass, fmt.Sprintf("the repo-server lists %d branch(es) and %d tag(s) of %s", len(branches), len(tags), repo), ""}
		}
	}
	var readers, failing []string
	if apps, err := d.applications(ctx); err == nil {
		for i := range apps.Items {
			app := &apps.Items[i]
			if !readsRepo(app, repo) {
				continue
			}
			if msg := conditionMessage(app, "ComparisonError", ""); msg != "" && strings.Contains(msg, trimRepo(repo)) {
				failing = append(failing, fmt.Sprintf("Application %s: ComparisonError: %s", app.GetName(), msg))
			} else if rev, _, _ := unstructured.NestedString(app.Object, "status", "sync", "revision"); rev != "" {
				readers = append(readers, "Application "+app.GetName())
			}
		}
	}
	if sets, err := d.applicationSets(ctx); err == nil {
		for _, s := range sets {
			if !appSetReadsRepo(s, repo) {
				continue
			}
			if msg := conditionMessage(s, "ErrorOccurred", "True"); msg != "" && strings.Contains(msg, trimRepo(repo)) {
				failing = append(failing, fmt.Sprintf("ApplicationSet %s: %s", s.GetName(), msg))
			} else if conditionMessage(s, "ParametersGenerated", "True") != "" {
				readers = append(readers, "ApplicationSet "+s.GetName())
			}
		}
	}
	switch {
	case len(failing) > 0:
		return part{Fail, fmt.Sprintf("the repo-server cannot read %s: %s", repo, strings.Join(failing, "; ")), fix}
	case len(readers) == 0:
		return part{Warn, fmt.Sprintf("%s: no Application or ApplicationSet reads it yet, and %s", repo, cannotAsk),
			"after the first apply doctor reads it from Argo CD's status; or run doctor in server mode"}
	}
	more := ""
	if len(readers) > 1 {
		more = fmt.Sprintf(" and %d more", len(readers)-1)
	}
	return part{Pass, fmt.Sprintf("the repo-server read %s for %s%s", repo, readers[0], more), ""}
}

// trimRepo is a repository URL as Argo CD's messages may spell it.
func trimRepo(u string) string { return strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git") }

func sameRepo(a, b string) bool { return a != "" && trimRepo(a) == trimRepo(b) }

// readsRepo says whether an Application's source (or one of its sources) is repo.
func readsRepo(app *unstructured.Unstructured, repo string) bool {
	if u, _, _ := unstructured.NestedString(app.Object, "spec", "source", "repoURL"); sameRepo(u, repo) {
		return true
	}
	sources, _, _ := unstructured.NestedSlice(app.Object, "spec", "sources")
	for _, s := range sources {
		if m, _ := s.(map[string]any); m != nil && sameRepo(str(m, "repoURL"), repo) {
			return true
		}
	}
	return false
}

// appSetReadsRepo says whether an ApplicationSet's git generator reads repo.
func appSetReadsRepo(s *unstructured.Unstructured, repo string) bool {
	gens, _, _ := unstructured.NestedSlice(s.Object, "spec", "generators")
	for _, g := range gens {
		if u, _, _ := unstructured.NestedString(g.(map[string]any), "git", "repoURL"); sameRepo(u, repo) {
			return true
		}
	}
	return false
}

// conditionMessage is the message of an object's status condition of type
// (with status, when set), or "" when it has none.
func conditionMessage(obj *unstructured.Unstructured, typ, status string) string {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m != nil && str(m, "type") == typ && (status == "" || str(m, "status") == status) {
			if msg := str(m, "message"); msg != "" {
				return msg
			}
			return typ
		}
	}
	return ""
}
