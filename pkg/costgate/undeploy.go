package costgate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Closing a sync gate deletes what its sync deployed: the objects the live
// Application's status.resources lists (hooks left out), highest sync wave
// first and, within a wave, in the reverse of Argo CD's kind order (the
// workloads before their Services and ConfigMaps), each with foreground
// propagation (so an object is gone only once its pods are). The Application
// stays: it goes back to OutOfSync/Missing and costs nothing, and a sync opens
// the gate again.
//
// What deleting would take from others, or cannot undo, is kept and said:
// Namespaces and CustomResourceDefinitions (deleting them deletes every object
// in them or of their kind), cluster-scoped objects (they cost nothing, may
// serve other apps, and deleting them would take cluster-wide rights the gates'
// roles do not grant), PersistentVolumeClaims (their data), objects another
// Application's status.resources lists too, and what Argo CD itself keeps when
// an Application is deleted: argocd.argoproj.io/sync-options Delete=false (on
// the object, or in the Application's syncOptions), Delete=confirm, and
// helm.sh/resource-policy: keep.
//
// Argo CD's own cascade deletion waits for each wave to be gone before it
// deletes the next; a close sends every delete in order and waits (unless
// --wait=false) for all of them at the end.

// AppObject is one object a sync gate's Application deployed, reached through
// the Application in server mode.
type AppObject struct {
	App       string
	Kind      kube.Kind // Namespaced is whether status.resources names a namespace
	Namespace string
	Name      string
	Wave      int64
}

// String reads "Deployment inference-demo/web", or "ClusterRole web".
func (o AppObject) String() string { return objectString(o.Kind.Kind, o.Namespace, o.Name) }

// GVK is the object's kind as Argo CD's API names it.
func (o AppObject) GVK() schema.GroupVersionKind {
	return o.Kind.GVR.GroupVersion().WithKind(o.Kind.Kind)
}

func objectString(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// Undeploy is what closing a sync gate did, object by object, in the order it
// went through them.
type Undeploy struct {
	Objects  []Undeployed `json:"objects"`
	Warnings []string     `json:"warnings,omitempty"`
}

// Undeployed is what a close did to one object.
type Undeployed struct {
	Object string `json:"object"`
	// Action is deleted, gone (it did not exist), kept or skipped (another
	// Application deploys it too).
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

// The actions of Undeployed.
const (
	ActionDeleted = "deleted"
	ActionGone    = "gone"
	ActionKept    = "kept"
	ActionSkipped = "skipped"
)

// Deleted are the objects the close deleted.
func (u *Undeploy) Deleted() []string {
	var out []string
	for _, o := range u.Objects {
		if o.Action == ActionDeleted {
			out = append(out, o.Object)
		}
	}
	return out
}

// listed is one entry of an Application's status.resources.
type listed struct {
	group, version, kind, namespace, name string
	wave                                  int64
	hook, confirm                         bool
}

func (l listed) id() string { return l.group + "/" + l.kind + "/" + l.namespace + "/" + l.name }
func (l listed) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: l.group, Version: l.version, Kind: l.kind}
}

// listedResources reads an Application's status.resources.
func listedResources(app *unstructured.Unstructured) []listed {
	items, _, _ := unstructured.NestedSlice(app.Object, "status", "resources")
	out := make([]listed, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		l := listed{group: str("group"), version: str("version"), kind: str("kind"), namespace: str("namespace"), name: str("name")}
		l.hook, _ = m["hook"].(bool)
		l.confirm, _ = m["requiresDeletionConfirmation"].(bool)
		switch w := m["syncWave"].(type) {
		case int64:
			l.wave = w
		case float64:
			l.wave = int64(w)
		case int:
			l.wave = int64(w)
		}
		if l.kind != "" && l.name != "" {
			out = append(out, l)
		}
	}
	return out
}

// kindOrder is Argo CD's (gitops-engine's sync_tasks.go): the order a sync
// applies kinds in within a wave; kinds it does not list come after them.
var kindOrder = func() map[string]int {
	kinds := []string{"Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
		"ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
		"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
		"RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet",
		"Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService"}
	m := make(map[string]int, len(kinds))
	for i, k := range kinds {
		m[k] = i - len(kinds)
	}
	return m
}()

// sortForDeletion orders entries the reverse of how a sync applies them:
// highest wave first, then the reverse of Argo CD's kind order (its unknown
// kinds, custom resources, first), then by namespace and name.
func sortForDeletion(entries []listed) {
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.wave != b.wave {
			return a.wave > b.wave
		}
		if ka, kb := kindOrder[a.kind], kindOrder[b.kind]; ka != kb {
			return ka > kb
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		return a.name < b.name
	})
}

// keptKind says why a close keeps every object of a kind ("" when it does not).
func keptKind(group, kind string, clusterScoped bool) string {
	switch {
	case group == "" && kind == "Namespace":
		return "deleting a Namespace deletes every object in it, other apps' too"
	case group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition":
		return "deleting a CustomResourceDefinition deletes every object of its kind, other apps' too"
	case clusterScoped:
		return "cluster-scoped: it costs nothing, may serve other apps, and deleting it takes cluster-wide rights; kubectl delete it if the app is gone for good"
	case group == "" && kind == "PersistentVolumeClaim":
		return "it holds data; kubectl delete it if the data may go"
	}
	return ""
}

// SyncOptionsAnnotation is Argo CD's per-object sync options annotation.
const SyncOptionsAnnotation = "argocd.argoproj.io/sync-options"

// keptObject says why a close keeps a live object that Argo CD itself keeps
// when its Application is deleted ("" when it does not): Delete=false or
// Delete=confirm on the object or, failing that, in the Application's
// syncOptions, and helm.sh/resource-policy: keep.
func keptObject(liveApp, obj *unstructured.Unstructured) string {
	opt, where := syncOption(strings.Split(obj.GetAnnotations()[SyncOptionsAnnotation], ","), "Delete"), "its annotation "+SyncOptionsAnnotation
	if opt == "" && liveApp != nil {
		opts, _, _ := unstructured.NestedStringSlice(liveApp.Object, "spec", "syncPolicy", "syncOptions")
		opt, where = syncOption(opts, "Delete"), "the Application's syncOptions"
	}
	switch {
	case opt == "false":
		return where + " say Delete=false (Argo CD keeps it too when the Application is deleted)"
	case opt == "confirm":
		return where + " say Delete=confirm: Argo CD deletes it only once someone confirms; kubectl delete it if it may go"
	}
	for _, p := range strings.Split(obj.GetAnnotations()["helm.sh/resource-policy"], ",") {
		if strings.TrimSpace(p) == "keep" {
			return "its annotation helm.sh/resource-policy says keep"
		}
	}
	return ""
}

// syncOption is the value of option key among Argo CD sync options ("Key=Value").
func syncOption(opts []string, key string) string {
	for _, o := range opts {
		if k, v, ok := strings.Cut(strings.TrimSpace(o), "="); ok && k == key {
			return v
		}
	}
	return ""
}

// planned is one listed object and what a close does with it.
type planned struct {
	obj    AppObject
	what   string // ActionKept, ActionSkipped, ActionGone (decided before any read), or "" (delete)
	reason string
}

// planClose reads the sync gate's live Application and every other one, and
// decides what a close deletes and keeps, in deletion order.
func (g *Gates) planClose(ctx context.Context, app platform.App) (*unstructured.Unstructured, []planned, error) {
	liveApp, err := g.Application(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	all, err := g.Backend.Live(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	others := map[string]string{} // listed object -> another Application that lists it
	for name, a := range all.Apps {
		if name == app.Name {
			continue
		}
		for _, l := range listedResources(a) {
			if !l.hook {
				others[l.id()] = name
			}
		}
	}
	var entries []listed
	var gvks []schema.GroupVersionKind
	for _, l := range listedResources(liveApp) {
		if l.hook {
			continue
		}
		entries = append(entries, l)
		if keptKind(l.group, l.kind, l.namespace == "") == "" {
			gvks = append(gvks, l.gvk())
		}
	}
	sortForDeletion(entries)
	kinds, err := g.Backend.ResolveKinds(ctx, gvks)
	if err != nil {
		return nil, nil, err
	}
	appWide := keptObject(liveApp, &unstructured.Unstructured{Object: map[string]any{}})
	plan := make([]planned, 0, len(entries))
	for _, l := range entries {
		k, served := kinds[l.gvk()]
		if !served {
			k = kube.Kind{GVR: schema.GroupVersionResource{Group: l.group, Version: l.version}, Kind: l.kind}
		}
		k.Kind, k.Namespaced = l.kind, l.namespace != ""
		p := planned{obj: AppObject{App: app.Name, Kind: k, Namespace: l.namespace, Name: l.name, Wave: l.wave}}
		switch why := keptKind(l.group, l.kind, l.namespace == ""); {
		case why != "":
			p.what, p.reason = ActionKept, why
		case others[l.id()] != "":
			p.what, p.reason = ActionSkipped, "Application "+others[l.id()]+" deploys it too"
		case l.confirm:
			p.what, p.reason = ActionKept, "Argo CD asks for a confirmation before it deletes it (Delete=confirm); kubectl delete it if it may go"
		case appWide != "":
			p.what, p.reason = ActionKept, appWide
		case !served:
			p.what, p.reason = ActionGone, "the cluster does not serve "+l.gvk().GroupVersion().String()+" "+l.kind
		}
		plan = append(plan, p)
	}
	return liveApp, plan, nil
}

// toDelete are the objects of a plan a close deletes (if they exist).
func toDelete(plan []planned) []AppObject {
	var out []AppObject
	for _, p := range plan {
		if p.what == "" {
			out = append(out, p.obj)
		}
	}
	return out
}

// closeSync closes a sync gate: it checks every permission the deletes (and,
// with wait, the wait) need, then deletes what the Application's sync
// deployed, in order, and clears the gate's opened-at. A delete that fails
// stops the close there; the error says what was deleted and what was not.
func (g *Gates) closeSync(ctx context.Context, app platform.App, wait bool) (Change, *Undeploy, error) {
	ch := Change{App: app.Name, Target: "what its sync deployed", To: "deleted"}
	u := &Undeploy{}
	liveApp, plan, err := g.planClose(ctx, app)
	if err != nil {
		return ch, u, err
	}
	ch.From = string(SyncGateState(argocd.StatusOf(liveApp)))
	if err := g.Authorize(ctx, CloseSyncPermissions(g.Namespace, app, toDelete(plan), wait)); err != nil {
		return ch, u, fmt.Errorf("refusing to close %s, nothing deleted: %w", app.Name, err)
	}
	for i, p := range plan {
		if p.what != "" {
			u.Objects = append(u.Objects, Undeployed{Object: p.obj.String(), Action: p.what, Reason: p.reason})
			continue
		}
		if ctx.Err() != nil { // an interrupt or the deadline stops the close between two deletes
			return ch, u, g.halfClosed(app, u, plan[i:], context.Cause(ctx))
		}
		done, err := g.undeploy(ctx, liveApp, p.obj)
		if err != nil {
			return ch, u, g.halfClosed(app, u, plan[i:], err)
		}
		u.Objects = append(u.Objects, done)
		ch.Changed = ch.Changed || done.Action == ActionDeleted
	}
	// Its opener and lease go with it (read again: the deletes changed its status).
	if err := g.recordOnApp(ctx, app, func(a *unstructured.Unstructured) map[string]any { return closing(a, 0) }, &ch); err != nil {
		u.Warnings = append(u.Warnings, fmt.Sprintf("could not clear the opener and lease on Application %s (list may show it open since then once it is synced again by other means): %v",
			app.Name, cutOr(ctx, err)))
	}
	return ch, u, nil
}

// undeploy deletes one object, read first: an object that is gone is said so,
// one Argo CD keeps is kept, and the delete is guarded by the read's UID
// (core mode), so an object replaced meanwhile is not deleted blind.
func (g *Gates) undeploy(ctx context.Context, liveApp *unstructured.Unstructured, o AppObject) (Undeployed, error) {
	done := Undeployed{Object: o.String(), Action: ActionDeleted}
	live, err := g.Backend.AppObject(ctx, o)
	switch {
	case apierrors.IsNotFound(err):
		done.Action, done.Reason = ActionGone, "it does not exist"
		return done, nil
	case err != nil:
		return done, cutOr(ctx, err)
	}
	if why := keptObject(liveApp, live); why != "" {
		done.Action, done.Reason = ActionKept, why
		return done, nil
	}
	if live.GetDeletionTimestamp() != nil {
		done.Reason = "it was being deleted already"
		return done, nil
	}
	err = g.Backend.DeleteAppObject(ctx, o, live.GetUID())
	switch {
	case apierrors.IsNotFound(err):
		done.Action, done.Reason = ActionGone, "it went meanwhile"
		return done, nil
	case apierrors.IsConflict(err):
		return done, fmt.Errorf("%s was replaced (a new UID) between its read and its delete: %w", o, err)
	case err != nil:
		return done, cutOr(ctx, err)
	}
	return done, nil
}

// halfClosed says how far a close got when a delete failed, and the ways on.
func (g *Gates) halfClosed(app platform.App, u *Undeploy, left []planned, err error) error {
	var notYet []string
	for _, p := range left {
		if p.what == "" {
			notYet = append(notYet, p.obj.String())
		}
	}
	deleted := u.Deleted()
	if len(deleted) == 0 {
		return fmt.Errorf("closing %s: %s, nothing deleted: %w", app.Name, notYet[0], err)
	}
	return fmt.Errorf("closing %s: %s: %w; deleted %s, not deleted %s: run the same down again to finish, or %s sync %s to bring back what was deleted",
		app.Name, notYet[0], err, strings.Join(deleted, ", "), strings.Join(notYet, ", "), g.Host.Cmd("costgate"), app.Name)
}

// Undeploying is what a wait for a sync gate's close sees each time: its
// Application, the objects it waits on that still exist, and the pods in
// their namespaces.
type Undeploying struct {
	App  *unstructured.Unstructured
	Left []*unstructured.Unstructured
	Pods kube.Snapshot
}

// waitUndeployed waits until what closing a sync gate deletes is gone, pods
// included, and Argo CD has seen it gone (so that list, right after, says the
// gate is down), telling progress what it waits on each time that changes. It
// reads the plan again (a down run again after an interrupt waits the same
// way); an object that exists again without being deleted was synced again by
// someone else, which ends the wait with an error.
func (g *Gates) waitUndeployed(ctx context.Context, app platform.App, progress func(string)) error {
	liveApp, plan, err := g.planClose(ctx, app)
	if err != nil {
		return err
	}
	last := ""
	say := func(msg string) {
		if msg != last && progress != nil {
			progress(msg)
		}
		last = msg
	}
	objs := toDelete(plan)
	if len(objs) == 0 {
		say("nothing left")
		return nil
	}
	owners := podOwners{}
	err = g.Backend.WatchAppObjects(ctx, objs, func(now Undeploying) (bool, error) {
		var going []string
		kept := map[string]bool{}
		for _, o := range now.Left {
			if keptObject(liveApp, o) != "" {
				kept[o.GroupVersionKind().Group+"/"+o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = true
				continue
			}
			if o.GetDeletionTimestamp() == nil {
				return false, fmt.Errorf("%s was synced again by someone else while waiting for what it deployed to go: %s exists again",
					app.Name, objectString(o.GetKind(), o.GetNamespace(), o.GetName()))
			}
			owners.add(o)
			going = append(going, objectString(o.GetKind(), o.GetNamespace(), o.GetName()))
		}
		theirs := owners.pods(now.Pods)
		stale := seenSynced(now.App, objs, kept)
		switch {
		case len(theirs) > 0:
			say(fmt.Sprintf("waiting for %d pod(s) to go: %s", len(theirs), strings.Join(theirs, ", ")))
		case len(going) > 0:
			say(fmt.Sprintf("waiting for %d object(s) to go: %s", len(going), strings.Join(going, ", ")))
		case len(stale) > 0:
			say(fmt.Sprintf("waiting for Argo CD to see %s gone", strings.Join(stale, ", ")))
		default:
			say("nothing left")
			return true, nil
		}
		return false, nil
	})
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%s: %w (last: %s)", app.Name, ctx.Err(), last)
	}
	return err
}

// seenSynced names the objects of objs (but those kept) the Application's
// status.resources still says are Synced: Argo CD has not seen them gone yet
// (once it has, each is OutOfSync, or no longer listed).
func seenSynced(app *unstructured.Unstructured, objs []AppObject, kept map[string]bool) []string {
	if app == nil {
		return nil
	}
	waited := map[string]bool{}
	for _, o := range objs {
		if id := o.Kind.GVR.Group + "/" + o.Kind.Kind + "/" + o.Namespace + "/" + o.Name; !kept[id] {
			waited[id] = true
		}
	}
	items, _, _ := unstructured.NestedSlice(app.Object, "status", "resources")
	var out []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		if waited[str("group")+"/"+str("kind")+"/"+str("namespace")+"/"+str("name")] && str("status") == "Synced" {
			out = append(out, objectString(str("kind"), str("namespace"), str("name")))
		}
	}
	return out
}

// podOwners are the workloads a close waits on, remembered once seen (they
// may go before the watch reports their last pod): their pod selectors and
// UIDs, by namespace.
type podOwners map[string]*nsOwners

type nsOwners struct {
	selectors []labels.Selector
	uids      map[types.UID]bool
}

// workloadKinds are the kinds whose spec.selector selects the pods they own.
var workloadKinds = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "Deployment"}: true, {Group: "apps", Kind: "StatefulSet"}: true, {Group: "apps", Kind: "DaemonSet"}: true,
	{Group: "apps", Kind: "ReplicaSet"}: true, {Group: "batch", Kind: "Job"}: true, {Kind: "ReplicationController"}: true,
}

func (p podOwners) add(o *unstructured.Unstructured) {
	ns := p[o.GetNamespace()]
	if ns == nil {
		ns = &nsOwners{uids: map[types.UID]bool{}}
		p[o.GetNamespace()] = ns
	}
	if ns.uids[o.GetUID()] {
		return
	}
	ns.uids[o.GetUID()] = true
	if !workloadKinds[o.GroupVersionKind().GroupKind()] {
		return
	}
	if o.GetKind() == "ReplicationController" {
		if m, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector"); len(m) > 0 {
			ns.selectors = append(ns.selectors, labels.SelectorFromSet(m))
		}
		return
	}
	raw, ok, _ := unstructured.NestedMap(o.Object, "spec", "selector")
	if !ok {
		return
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return
	}
	if sel, err := metav1.LabelSelectorAsSelector(&ls); err == nil && !sel.Empty() {
		ns.selectors = append(ns.selectors, sel)
	}
}

// pods names, sorted, the pods among all that the remembered workloads own:
// selected by one of their selectors, or controlled by one of them.
func (p podOwners) pods(all kube.Snapshot) []string {
	var out []string
	for _, pod := range all {
		ns := p[pod.GetNamespace()]
		if ns == nil {
			continue
		}
		ours := false
		for _, ref := range pod.GetOwnerReferences() {
			ours = ours || ns.uids[ref.UID]
		}
		for _, sel := range ns.selectors {
			ours = ours || sel.Matches(labels.Set(pod.GetLabels()))
		}
		if ours {
			out = append(out, pod.GetName())
		}
	}
	sort.Strings(out)
	return out
}
