package costgate

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

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
	Client    *kube.Client
	Namespace string // Argo CD's, where the Applications are
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
	return b.Client.Explain(err, k)
}

// Live makes one LIST per kind: the Applications in Argo CD's namespace, and
// each workload kind in every namespace. A kind that is not served (KServe
// not installed) means its workloads are absent, not an error.
func (b *KubeBackend) Live(ctx context.Context, workloads []Workload) (Live, error) {
	live := newLive()
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
		list, err := b.Client.Dynamic.Resource(w.Kind.GVR).List(ctx, metav1.ListOptions{})
		if kube.IsMissingKind(err) {
			continue
		}
		if err != nil {
			return live, b.explain(ctx, err, w.Kind)
		}
		for i := range list.Items {
			o := &list.Items[i]
			live.Workloads[Workload{Kind: w.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}.key()] = o
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
func (b *KubeBackend) AnnotateApplication(ctx context.Context, name string, annotations map[string]any) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	_, err := b.Client.Resource(kube.Applications, b.Namespace).Patch(ctx, name, types.MergePatchType, patch, patchOptions)
	return b.explain(ctx, err, kube.Applications)
}

// Workload implements Backend.
func (b *KubeBackend) Workload(ctx context.Context, w Workload) (*unstructured.Unstructured, error) {
	o, err := b.Client.Resource(w.Kind, w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	return o, b.explain(ctx, err, w.Kind)
}

// PatchWorkload implements Backend.
func (b *KubeBackend) PatchWorkload(ctx context.Context, w Workload, mergePatch []byte) error {
	_, err := b.Client.Resource(w.Kind, w.Namespace).Patch(ctx, w.Name, types.MergePatchType, mergePatch, patchOptions)
	return b.explain(ctx, err, w.Kind)
}

// Beside implements Backend.
func (b *KubeBackend) Beside(ctx context.Context, w Workload, k kube.Kind) ([]*unstructured.Unstructured, error) {
	list, err := b.Client.Resource(k, w.Namespace).List(ctx, metav1.ListOptions{})
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
	workloadWatch := b.Client.Watch(ctx, w.Kind, w.Namespace, kube.Named(w.Name))
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
			if pods == nil {
				podWatch = b.Client.Watch(ctx, kube.Pods, w.Namespace, kube.Selector{Labels: w.PodSelector(live)})
				pods = podWatch.C
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

// Sync implements Backend with argocd.Core: .operation set through the Kubernetes API.
func (b *KubeBackend) Sync(ctx context.Context, app string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error) {
	core := &argocd.Core{Client: b.Client, Namespace: b.Namespace, Initiator: FieldManager}
	return core.Sync(ctx, app, progress)
}

// Authorize asks the API server (one SelfSubjectAccessReview each, in parallel)
// whether the current user may make every request in perms.
func (b *KubeBackend) Authorize(ctx context.Context, perms []Permission) error {
	perms = uniqueRequests(perms)
	allowed := make([]bool, len(perms))
	errs := make([]error, len(perms))
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Go(func() {
			review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authv1.ResourceAttributes{Namespace: p.Namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource},
			}}
			res, err := b.Client.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
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
	return &MissingPermissionError{Missing: missing, Context: b.Client.Context}
}
