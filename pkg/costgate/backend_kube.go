package costgate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	authnv1 "k8s.io/api/authentication/v1"
	authv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// KubeBackend reaches the gates through the Kubernetes API (core mode, like
// argocd --core), under Kubernetes RBAC.
type KubeBackend struct {
	// Client reaches Argo CD's Applications (the hub, when one deploys the
	// environment to another cluster).
	Client    *kube.Client
	Namespace string // Argo CD's, where the Applications are
	// Workloads reaches the gates' targets and their pods: the environment's
	// own cluster when a hub deploys it (a spoke); nil: Client.
	Workloads *kube.Client
}

// workloads is the client of the cluster the targets run on.
func (b *KubeBackend) workloads() *kube.Client {
	if b.Workloads != nil {
		return b.Workloads
	}
	return b.Client
}

// kind is the workload's resource: known, or resolved through discovery
// (the RESTMapper caches it); scalable also requires its /scale subresource.
func (b *KubeBackend) kind(w Workload, scalable bool) (kube.Kind, error) {
	if w.Resolved() && !scalable {
		return w.Kind, nil
	}
	resolve := b.workloads().KindOf
	if scalable {
		resolve = b.workloads().ScalableKind
	}
	k, err := resolve(w.Kind.GVR.Group, w.Kind.Kind)
	if err != nil {
		return k, fmt.Errorf("target of %s: %w", w.App, err)
	}
	return k, nil
}

// ResolveWorkload is w with its resource known (discovery for a kind the
// plugins do not know), for a caller that watches it (the watcher).
func (b *KubeBackend) ResolveWorkload(w Workload) (Workload, error) { return b.resolved(w, false) }

// resolved is w with its resource known.
func (b *KubeBackend) resolved(w Workload, scalable bool) (Workload, error) {
	k, err := b.kind(w, scalable)
	w.Kind = k
	return w, err
}

var patchOptions = metav1.PatchOptions{FieldManager: FieldManager}

// Mode implements Backend.
func (b *KubeBackend) Mode() string { return "core" }

// explain says what a failed request means; NotFound and Conflict stay
// themselves, for the gates to act on.
func (b *KubeBackend) explain(ctx context.Context, err error, k kube.Kind) error {
	if err == nil || apierrors.IsConflict(err) || (apierrors.IsNotFound(err) && !kube.IsMissingKind(err)) {
		return err
	}
	if c := cut(ctx, err); c != nil {
		return c
	}
	if k.GVR == kube.Applications.GVR {
		return b.Client.Explain(err, k)
	}
	return b.workloads().Explain(err, k) // names the cluster the request went to
}

// Live makes one LIST per kind: the Applications in Argo CD's namespace, and
// each workload kind in every namespace. A kind that is not served (KServe
// not installed, a CRD not applied yet) means its workloads are absent, not
// an error.
func (b *KubeBackend) Live(ctx context.Context, workloads []Workload) (Live, error) {
	live := NewLive()
	apps, err := b.Client.Resource(kube.Applications, b.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return live, b.explain(ctx, err, kube.Applications)
	}
	for i := range apps.Items {
		live.Apps[apps.Items[i].GetName()] = &apps.Items[i]
	}
	listed := map[kube.Kind]bool{}
	for _, w := range workloads {
		if listed[w.Kind] {
			continue
		}
		listed[w.Kind] = true
		k, err := b.kind(w, false)
		if err != nil {
			continue // not served: absent
		}
		list, err := b.workloads().Dynamic.Resource(k.GVR).List(ctx, metav1.ListOptions{})
		if kube.IsMissingKind(err) {
			continue
		}
		if apierrors.IsForbidden(err) { // the other kinds' gates are still worth showing
			live.Unreadable[w.Kind] = b.explain(ctx, err, k).Error()
			continue
		}
		if err != nil {
			return live, b.explain(ctx, err, k)
		}
		for i := range list.Items {
			o := &list.Items[i]
			live.Workloads[Workload{Kind: k, Namespace: o.GetNamespace(), Name: o.GetName()}.key()] = o
		}
	}
	return live, nil
}

// Application implements Backend.
func (b *KubeBackend) Application(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	live, err := b.Client.Resource(kube.Applications, b.Namespace).Get(ctx, name, metav1.GetOptions{})
	return live, b.explain(ctx, err, kube.Applications)
}

// AnnotateApplication implements Backend. The field manager is costgate's,
// so Argo CD's server-side diff of the app that deploys the Application does
// not see the annotation as drift.
func (b *KubeBackend) AnnotateApplication(ctx context.Context, name string, annotations map[string]any, resourceVersion string) error {
	meta := map[string]any{"annotations": annotations}
	if resourceVersion != "" {
		meta["resourceVersion"] = resourceVersion
	}
	patch, _ := json.Marshal(map[string]any{"metadata": meta})
	_, err := b.Client.Resource(kube.Applications, b.Namespace).Patch(ctx, name, types.MergePatchType, patch, patchOptions)
	return b.explain(ctx, err, kube.Applications)
}

// Workload implements Backend.
func (b *KubeBackend) Workload(ctx context.Context, w Workload) (*unstructured.Unstructured, error) {
	w, err := b.resolved(w, false)
	if err != nil {
		return nil, err
	}
	o, err := b.workloads().Resource(w.Kind, w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	return o, b.explain(ctx, err, w.Kind)
}

// PatchWorkload implements Backend.
func (b *KubeBackend) PatchWorkload(ctx context.Context, w Workload, mergePatch []byte) error {
	w, err := b.resolved(w, false)
	if err != nil {
		return err
	}
	_, err = b.workloads().Resource(w.Kind, w.Namespace).Patch(ctx, w.Name, types.MergePatchType, mergePatch, patchOptions)
	return b.explain(ctx, err, w.Kind)
}

// Scale implements Backend with the /scale subresource, as kubectl scale.
func (b *KubeBackend) Scale(ctx context.Context, w Workload) (kube.Scale, error) {
	w, err := b.resolved(w, true)
	if err != nil {
		return kube.Scale{}, err
	}
	s, err := b.workloads().GetScale(ctx, w.Kind, w.Namespace, w.Name)
	return s, b.explain(ctx, err, w.Kind)
}

// PatchScale implements Backend with the /scale subresource.
func (b *KubeBackend) PatchScale(ctx context.Context, w Workload, replicas int64, resourceVersion string) error {
	w, err := b.resolved(w, true)
	if err != nil {
		return err
	}
	return b.explain(ctx, b.workloads().PatchScale(ctx, w.Kind, w.Namespace, w.Name, replicas, resourceVersion, FieldManager), w.Kind)
}

// WhoAmI implements Backend with a SelfSubjectReview.
func (b *KubeBackend) WhoAmI(ctx context.Context) (string, error) {
	res, err := b.Client.Typed.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		reviews := kube.Kind{GVR: authnv1.SchemeGroupVersion.WithResource("selfsubjectreviews"), Kind: "SelfSubjectReview"}
		return "", fmt.Errorf("asking %s who the user is: %w", b.Client.Server, b.explain(ctx, err, reviews))
	}
	return res.Status.UserInfo.Username, nil
}

// Beside implements Backend.
func (b *KubeBackend) Beside(ctx context.Context, w Workload, k kube.Kind) ([]*unstructured.Unstructured, error) {
	list, err := b.workloads().Resource(k, w.Namespace).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, b.explain(ctx, err, k)
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// WatchWorkload is one watch on the workload and, once it exists, one on its pods.
func (b *KubeBackend) WatchWorkload(ctx context.Context, w Workload, changed func(*unstructured.Unstructured, kube.Snapshot) (bool, error)) error {
	w, err := b.resolved(w, false)
	if err != nil {
		return err
	}
	workloadWatch := b.workloads().Watch(ctx, w.Kind, w.Namespace, kube.Named(w.Name))
	var podWatch *kube.Watcher
	var pods <-chan kube.Snapshot
	var live *unstructured.Unstructured
	var podSnap kube.Snapshot
	closed := func(wt *kube.Watcher) error {
		if err := wt.Err(); err != nil {
			return err
		}
		return ctx.Err()
	}
	for {
		select {
		case snap, ok := <-workloadWatch.C:
			if !ok {
				return closed(workloadWatch)
			}
			if live = snap[w.Name]; live == nil {
				if done, err := changed(nil, nil); done || err != nil {
					return err
				}
				continue
			}
			if pods == nil && podSnap == nil {
				selector, err := b.podSelector(ctx, w, live)
				if err != nil {
					return err
				}
				if selector == "" { // it tells no pods: its replicas are all there is to wait on
					podSnap = kube.Snapshot{}
				} else {
					podWatch = b.workloads().Watch(ctx, kube.Pods, w.Namespace, kube.Selector{Labels: selector})
					pods = podWatch.C
				}
			}
		case snap, ok := <-pods:
			if !ok {
				return closed(podWatch)
			}
			podSnap = snap
		}
		if live == nil || podSnap == nil {
			continue
		}
		if done, err := changed(live, podSnap); done || err != nil {
			return err
		}
	}
}

// podSelector is the live workload's, or its /scale subresource's for a
// kind whose object says none in a place PodSelector knows; empty when
// neither tells its pods (a custom resource whose controller has not
// published a selector yet).
func (b *KubeBackend) podSelector(ctx context.Context, w Workload, live *unstructured.Unstructured) (string, error) {
	if s := w.PodSelector(live); s != "" || w.Kind == kube.InferenceServices {
		return s, nil
	}
	s, err := b.Scale(ctx, w)
	return s.Selector, err
}

// Sync implements Backend with argocd.Core: .operation set through the Kubernetes API.
func (b *KubeBackend) Sync(ctx context.Context, app string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	core := &argocd.Core{Client: b.Client, Namespace: b.Namespace, Initiator: FieldManager}
	return core.Sync(ctx, app, progress)
}

// Authorize asks the API server (one SelfSubjectAccessReview each, in parallel)
// whether the current user may make every request in perms.
func (b *KubeBackend) Authorize(ctx context.Context, perms []Permission) error {
	perms = slices.Clone(perms)
	for i, p := range perms {
		if p.Object.Kind == "" || p.Object.GVR.Version != "" {
			continue
		}
		// A kind known only by name: RBAC names its resource, which discovery knows.
		k, err := b.kind(Workload{App: p.App, Kind: p.Object}, false)
		if err != nil {
			return err
		}
		perms[i].Group, perms[i].Resource, perms[i].Object = k.GVR.Group, k.GVR.Resource, k
	}
	perms = uniqueRequests(perms)
	allowed := make([]bool, len(perms))
	errs := make([]error, len(perms))
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Go(func() {
			review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authv1.ResourceAttributes{Namespace: p.Namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource, Name: p.ResourceName},
			}}
			res, err := b.clientFor(p).Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			allowed[i] = res.Status.Allowed
		})
	}
	wg.Wait()
	var missing []string
	for i, p := range perms {
		if errs[i] != nil {
			reviews := kube.Kind{GVR: authv1.SchemeGroupVersion.WithResource("selfsubjectaccessreviews"), Kind: "SelfSubjectAccessReview"}
			return fmt.Errorf("cannot check the permission to %s: %w", p, b.explain(ctx, errs[i], reviews))
		}
		if !allowed[i] {
			missing = append(missing, p.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	context := b.Client.Context
	if b.Workloads != nil && b.Workloads.Context != b.Client.Context {
		context = b.Client.Context + " (Applications), " + b.Workloads.Context + " (workloads)"
	}
	return &MissingPermissionError{Missing: missing, Context: context}
}

// clientFor is the cluster a permission is asked of: the hub's for Argo CD's
// Applications, the workloads' for the rest.
func (b *KubeBackend) clientFor(p Permission) *kube.Client {
	if p.Group == kube.Applications.GVR.Group && p.Resource == kube.Applications.GVR.Resource {
		return b.Client
	}
	return b.workloads()
}
