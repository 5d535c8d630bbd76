package smoke

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Check statuses.
const (
	Pass = "PASS"
	Warn = "WARN"
	Fail = "FAIL"
	Skip = "SKIP"
)

// Check is one doctor result.
type Check struct {
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Message  string        `json:"message"`
	Fix      string        `json:"fix,omitempty"`
	Duration time.Duration `json:"durationNanos"`
}

// Doctor runs the checks. Everything it does is a read.
type Doctor struct {
	Client *kube.Client
	// Workloads, when a hub's Argo CD deploys the environment to a cluster
	// of its own, reaches that cluster: nodes, storage, Services, the
	// profile's Secrets and ExternalSecrets, the permissions on them. Nil:
	// Client.
	Workloads *kube.Client
	// Argo, when set, is server mode: the checks go through Argo CD's API
	// (Client is nil), and those that need the Kubernetes API are skipped.
	Argo ArgoAPI
	Env  *platform.Env
	// Needs are what the other plugins' verbs send (profile.Needs,
	// costgate.Needs), for the rbac check.
	Needs []access.Need
	// GatePolicies are, by gate, the Argo CD policies its verbs need in
	// server mode (costgate.ArgoPolicies), for the argocd-rbac check.
	GatePolicies map[string][]string
	Profile      *platform.Profile // nil: the checks that need one are skipped
	// ReconcileWindow: an Application reconciled within it proves the controller runs.
	ReconcileWindow time.Duration
	Now             func() time.Time // nil: time.Now

	apps *unstructured.UnstructuredList // one LIST, shared by the checks that read Applications
	sets []*unstructured.Unstructured   // one LIST of the ApplicationSets, likewise (nil: not read yet)
	// argoUnknown, when set, is why the checks that need Argo CD are skipped:
	// its CRDs are missing or could not be read.
	argoUnknown string
}

// workloads is the client of the cluster the environment's workloads run on.
func (d *Doctor) workloads() *kube.Client {
	if d.Workloads != nil {
		return d.Workloads
	}
	return d.Client
}

// applicationSets lists Argo CD's ApplicationSets once per run (through Argo
// CD's API in server mode: those of the environment's project).
func (d *Doctor) applicationSets(ctx context.Context) ([]*unstructured.Unstructured, error) {
	if d.sets != nil {
		return d.sets, nil
	}
	if d.Argo != nil {
		sets, err := d.Argo.ApplicationSets(ctx, d.Env.Descriptor.Project)
		if err == nil {
			d.sets = append([]*unstructured.Unstructured{}, sets...)
		}
		return d.sets, err
	}
	list, err := d.Client.Resource(kube.ApplicationSets, d.Env.Config.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, d.Client.Explain(err, kube.ApplicationSets)
	}
	d.sets = []*unstructured.Unstructured{}
	for i := range list.Items {
		d.sets = append(d.sets, &list.Items[i])
	}
	return d.sets, nil
}

// applications lists Argo CD's Applications once per run.
func (d *Doctor) applications(ctx context.Context) (*unstructured.UnstructuredList, error) {
	if d.apps != nil {
		return d.apps, nil
	}
	if d.Argo != nil {
		list, err := d.serverApplications(ctx)
		d.apps = list
		return list, err
	}
	list, err := d.Client.Resource(kube.Applications, d.Env.Config.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, d.Client.Explain(err, kube.Applications)
	}
	d.apps = list
	return list, nil
}

// Run runs every check of the table in order, in the doctor's mode; a check
// that cannot run (the mode cannot reach what it checks, no --profile, or an
// earlier check failed) is reported as SKIP with the reason.
func (d *Doctor) Run(ctx context.Context) []Check {
	var out []Check
	d.argoUnknown = ""
	server := d.Argo != nil
	for _, c := range checks {
		f := c.core
		if server {
			f = c.server
		}
		if f == nil && c.only != "" {
			continue // the other mode's own check
		}
		why := ""
		switch {
		case f == nil:
			why = d.needsKubernetes()
		case c.profile && d.Profile == nil:
			why = "no --profile given"
		case c.argo && d.argoUnknown != "":
			why = d.argoUnknown
		}
		if why != "" {
			out = append(out, Check{Name: c.name, Status: Skip, Message: why})
			continue
		}
		start := d.now()
		res := f(d, ctx)
		res.Name, res.Duration = c.name, d.now().Sub(start)
		out = append(out, res)
		if c.stops && res.Status == Fail {
			return out
		}
	}
	return out
}

// appsInScope are the catalog apps the profile brings up (every layer's without
// --profile), in enabled groups only: the apps whose Secrets and permissions matter.
func (d *Doctor) appsInScope() []platform.App {
	p := platform.Profile{Layers: d.Env.LayerNames()}
	if d.Profile != nil {
		p = *d.Profile
	}
	return d.Env.CatalogApps(p)
}

func (d *Doctor) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func pass(msg string, args ...any) Check {
	return Check{Status: Pass, Message: fmt.Sprintf(msg, args...)}
}

func fail(fix, msg string, args ...any) Check {
	return Check{Status: Fail, Message: fmt.Sprintf(msg, args...), Fix: fix}
}

func (d *Doctor) cluster(ctx context.Context) Check {
	ctx, cancel := context.WithTimeout(ctx, kube.DefaultRequestTimeout)
	defer cancel()
	body, err := d.Client.Typed.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fail("check the kubeconfig's server and that the API server runs", "%v", d.Client.Explain(err, kube.Kind{}))
	}
	v, err := d.Client.Typed.Discovery().ServerVersion()
	if err != nil {
		return fail("", "/readyz answered but /version did not: %v", err)
	}
	return pass("%s answers /readyz (%s); Kubernetes %s", d.Client.Server, strings.TrimSpace(string(body)), v.GitVersion)
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

func (d *Doctor) argoCRDs(ctx context.Context) Check {
	var missing []string
	for _, name := range []string{"applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io"} {
		_, err := d.Client.Metadata.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, name)
		case apierrors.IsForbidden(err):
			// Reading CRDs is cluster-wide and least-privilege roles rightly lack
			// it: the checks below read Argo CD's objects, and say if it is absent.
			return Check{Status: Warn, Message: fmt.Sprintf("cannot read CRDs (forbidden): %v", err),
				Fix: "grant get on customresourcedefinitions.apiextensions.k8s.io to check them; the checks below read Argo CD's objects directly"}
		case err != nil:
			d.argoUnknown = "the Argo CD CRDs could not be read"
			return fail("", "reading CRD %s: %v", name, d.Client.Explain(err, kube.Kind{}))
		}
	}
	if len(missing) > 0 {
		d.argoUnknown = "Argo CD is not installed"
		return fail("install Argo CD (its CRDs: kubectl apply --server-side -k https://github.com/argoproj/argo-cd/manifests/crds)",
			"Argo CD is not installed: missing CRD(s) %s", strings.Join(missing, ", "))
	}
	return pass("Application, ApplicationSet and AppProject CRDs are installed")
}

func (d *Doctor) argoNamespace(ctx context.Context) Check {
	ns := d.Env.Config.Namespace
	if _, err := d.Client.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return fail(fmt.Sprintf("install Argo CD into namespace %s (config.yaml namespace:)", ns), "namespace %s does not exist", ns)
		}
		return fail("", "namespace %s: %v", ns, err)
	}
	return pass("namespace %s exists", ns)
}

// argoControllers proves the application-controller runs: its pods are Running,
// or (where it runs elsewhere, as in the sandbox) an Application was reconciled
// recently.
func (d *Doctor) argoControllers(ctx context.Context) Check {
	ns := d.Env.Config.Namespace
	pods, err := d.Client.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=argocd-application-controller"})
	if err == nil {
		for _, p := range pods.Items {
			if p.Status.Phase == "Running" {
				return pass("argocd-application-controller pod %s is Running", p.Name)
			}
		}
	}
	apps, err := d.applications(ctx)
	if err != nil {
		return fail("", "listing Applications: %v", err)
	}
	if len(apps.Items) == 0 {
		return Check{Status: Warn, Message: "no application-controller pod found and no Application to show it works", Fix: "apply a profile (" + d.Env.Host.Cmd("profile") + " apply)"}
	}
	var newest time.Time
	for i := range apps.Items {
		if at := argocd.StatusOf(&apps.Items[i]).ReconciledAt; at.After(newest) {
			newest = at
		}
	}
	age := d.now().Sub(newest)
	if newest.IsZero() || age > d.ReconcileWindow {
		return fail("check the argocd-application-controller (its pods and logs)",
			"no Application reconciled in the last %s (newest: %s ago)", d.ReconcileWindow, age.Round(time.Second))
	}
	return pass("the application-controller reconciled an Application %s ago", age.Round(time.Second))
}

// groupsFresh compares the generated files with the config by meaning (the
// YAML data, not the text), as resolve --check does.
func (d *Doctor) groupsFresh(context.Context) Check {
	stale, err := d.Env.StaleFiles()
	if err != nil {
		return fail("", "%v", err)
	}
	if len(stale) > 0 {
		return fail(fmt.Sprintf("%s resolve --env %s, then commit", d.Env.Host.Cmd("profile"), d.Env.Name),
			"stale against %s: %s", d.Env.ConfigName(), strings.Join(platform.Paths(stale), ", "))
	}
	if !d.Env.AppSetsGenerated() {
		return pass("the resolved groups match %s", d.Env.ConfigName())
	}
	return pass("the resolved groups and the appsets overlay match %s", d.Env.ConfigName())
}

func (d *Doctor) profileObjects(ctx context.Context) Check {
	ns := d.Env.Config.Namespace
	var missing []string
	if _, err := d.Client.Resource(kube.AppProjects, ns).Get(ctx, d.Env.Descriptor.Project, metav1.GetOptions{}); err != nil {
		missing = append(missing, "AppProject "+d.Env.Descriptor.Project)
	}
	sets, err := d.applicationSets(ctx)
	if err != nil {
		return fail("", "listing ApplicationSets: %v", err)
	}
	for _, l := range d.Profile.Layers {
		if !slices.ContainsFunc(sets, func(s *unstructured.Unstructured) bool { return s.GetLabels()[platform.LayerLabel] == l }) {
			name, err := d.Env.AppSetName(l)
			if err != nil {
				return fail("", "%v", err)
			}
			missing = append(missing, fmt.Sprintf("ApplicationSet %s (layer %s)", name, l))
		}
	}
	if len(missing) > 0 {
		return fail(fmt.Sprintf("%s apply %s --env %s", d.Env.Host.Cmd("profile"), d.Profile.Name, d.Env.Name), "missing: %s", strings.Join(missing, ", "))
	}
	return pass("AppProject %s and the ApplicationSets of %s exist", d.Env.Descriptor.Project, strings.Join(d.Profile.Layers, ", "))
}

func (d *Doctor) profileApps(ctx context.Context) Check {
	apps, err := d.applications(ctx)
	if err != nil {
		return fail("", "listing Applications: %v", err)
	}
	live := map[string]*unstructured.Unstructured{}
	for i := range apps.Items {
		live[apps.Items[i].GetName()] = &apps.Items[i]
	}
	expected, err := d.Env.ExpectedApps(*d.Profile)
	if err != nil {
		return fail("", "%v", err)
	}
	var bad, gated []string
	total := 0
	for _, a := range expected {
		app, ok := live[a.Name]
		if a.Gated {
			state := "absent"
			if ok {
				st := argocd.StatusOf(app)
				state = st.Sync + "/" + st.Health
			}
			gated = append(gated, a.Name+" "+state)
			continue
		}
		total++
		if !ok {
			bad = append(bad, a.Name+" (absent)")
			continue
		}
		if st := argocd.StatusOf(app); !st.Ready() {
			bad = append(bad, fmt.Sprintf("%s (%s/%s)", a.Name, st.Sync, st.Health))
		}
	}
	gatedMsg := ""
	if len(gated) > 0 {
		gatedMsg = "; gated, not required: " + strings.Join(gated, ", ")
	}
	if failing := d.appSetErrors(ctx); len(failing) > 0 {
		var msgs []string
		for _, e := range failing {
			msgs = append(msgs, fmt.Sprintf("ApplicationSet %s fails: %s", e.Name, e.Message))
		}
		return fail("fix what Argo CD says (an AppProject the template names must exist: "+d.Env.Host.Cmd("profile")+" lint --env "+d.Env.Name+")",
			"%s; %d of %d auto-sync apps not Synced/Healthy", strings.Join(msgs, "; "), len(bad), total)
	}
	if len(bad) > 0 {
		return fail(fmt.Sprintf("%s wait %s --env %s shows why", d.Env.Host.Cmd("profile"), d.Profile.Name, d.Env.Name),
			"%d of %d auto-sync apps not Synced/Healthy: %s%s", len(bad), total, strings.Join(bad, ", "), gatedMsg)
	}
	return pass("all %d auto-sync apps of %s are Synced and Healthy%s", total, d.Profile.Name, gatedMsg)
}

// appSetErrors are the profile's ApplicationSets that report an error (none
// when they cannot be read: the apps' check stands on its own then).
func (d *Doctor) appSetErrors(ctx context.Context) []argocd.AppSetError {
	sets, err := d.applicationSets(ctx)
	if err != nil {
		return nil
	}
	var out []argocd.AppSetError
	for _, l := range d.Profile.Layers {
		name, err := d.Env.AppSetName(l)
		if err != nil {
			continue
		}
		for _, s := range sets {
			if e, failing := argocd.AppSetErrorOf(s, d.now()); failing && s.GetName() == name {
				out = append(out, e)
			}
		}
	}
	return out
}

func (d *Doctor) gpu(ctx context.Context) Check {
	if !ServingProfile(d.Env, *d.Profile) {
		return Check{Status: Skip, Message: "profile " + d.Profile.Name + " serves no model"}
	}
	nodes, err := d.workloads().Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fail("", "listing nodes: %v", err)
	}
	var gpus []string
	for _, n := range nodes.Items {
		if q, ok := n.Status.Capacity["nvidia.com/gpu"]; ok && !q.IsZero() {
			gpus = append(gpus, fmt.Sprintf("%s (%s)", n.Name, q.String()))
		}
	}
	if len(gpus) == 0 {
		return Check{Status: Warn, Message: "no node has nvidia.com/gpu capacity now (a GPU pool scaled to zero adds one when a model scales up)",
			Fix: "check the GPU node pool and the autoscaler if a GPU model must start"}
	}
	return pass("nvidia.com/gpu on %s", strings.Join(gpus, ", "))
}

func (d *Doctor) storageClass(ctx context.Context) Check {
	list, err := d.workloads().Typed.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fail("", "listing StorageClasses: %v", err)
	}
	for _, sc := range list.Items {
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
			return pass("default StorageClass %s", sc.Name)
		}
	}
	return fail(`annotate one StorageClass storageclass.kubernetes.io/is-default-class: "true"`, "no default StorageClass: PVCs without a class stay Pending")
}

func (d *Doctor) loadBalancers(ctx context.Context) Check {
	svcs, err := d.workloads().Typed.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fail("", "listing Services: %v", err)
	}
	var lbs, pending []string
	for _, s := range svcs.Items {
		if s.Spec.Type != "LoadBalancer" {
			continue
		}
		lbs = append(lbs, s.Namespace+"/"+s.Name)
		if len(s.Status.LoadBalancer.Ingress) == 0 {
			pending = append(pending, s.Namespace+"/"+s.Name)
		}
	}
	switch {
	case len(lbs) == 0:
		return Check{Status: Skip, Message: "no LoadBalancer Services"}
	case len(pending) > 0:
		return fail("check the cloud load-balancer controller", "no address yet: %s", strings.Join(pending, ", "))
	}
	return pass("%d LoadBalancer Service(s) have addresses", len(lbs))
}

// secrets checks that the Secrets the serving path needs exist, reading their
// metadata only, through a client that logs no body (see secret.go).
func (d *Doctor) secrets(ctx context.Context) Check {
	var refs []platform.SecretKeyRef
	for _, a := range d.appsInScope() {
		if a.Chat != nil && a.Chat.KeySecret != nil {
			refs = append(refs, *a.Chat.KeySecret)
		}
	}
	if len(refs) == 0 {
		return Check{Status: Skip, Message: "the profile's apps name no key Secret"}
	}
	var missing, found, unreadable []string
	for _, r := range refs {
		exists, err := secretExists(ctx, d.workloads(), r.Namespace, r.Name)
		switch {
		case apierrors.IsForbidden(err):
			// A viewer may not read Secrets at all; that is not a broken platform.
			unreadable = append(unreadable, r.Namespace+"/"+r.Name)
		case err != nil:
			return fail("", "Secret %s/%s: %v", r.Namespace, r.Name, d.workloads().Explain(err, kube.Kind{Kind: "Secret"}))
		case exists:
			found = append(found, r.Namespace+"/"+r.Name)
		default:
			missing = append(missing, r.Namespace+"/"+r.Name)
		}
	}
	if len(missing) > 0 {
		return fail("create them (External Secrets or kubectl create secret generic); their names come from the catalog's smoke.aidev.io/key-secret",
			"missing Secret(s): %s", strings.Join(missing, ", "))
	}
	if len(unreadable) > 0 {
		msg := "not allowed to check Secret(s) " + strings.Join(unreadable, ", ") + " (get secrets is forbidden)"
		if len(found) > 0 {
			msg += "; present: " + strings.Join(found, ", ")
		}
		return Check{Status: Warn, Message: msg, Fix: "run doctor as a user who may get Secrets there (the on-call role may)"}
	}
	return pass("Secret(s) present: %s", strings.Join(found, ", "))
}

// ServingProfile says whether a profile holds an app that serves a model (a chat target).
func ServingProfile(env *platform.Env, p platform.Profile) bool {
	for _, a := range env.Apps {
		if a.Chat != nil && slices.Contains(p.Layers, a.Layer) {
			return true
		}
	}
	return false
}
