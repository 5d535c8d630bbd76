package costgate

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Closing a sync gate in core mode: the dynamic client, the API server's
// discovery for the resource of each kind, and one watch per kind and
// namespace (and one on the pods of each namespace) until what was deleted is gone.

// ResolveKinds implements Backend with the API server's discovery: read once
// per invocation at the first kind asked for (or from kubectl's disk cache),
// and again only for a kind it did not serve.
func (b *KubeBackend) ResolveKinds(ctx context.Context, gvks []schema.GroupVersionKind) (map[schema.GroupVersionKind]kube.Kind, error) {
	out := map[schema.GroupVersionKind]kube.Kind{}
	if len(gvks) == 0 {
		return out, nil
	}
	mapper := b.workloads().Mapper // kubectl's: discovery cached on disk
	if mapper == nil {
		return nil, fmt.Errorf("no discovery client for %s (context %q)", b.workloads().Server, b.workloads().Context)
	}
	for _, gvk := range gvks {
		if _, done := out[gvk]; done {
			continue
		}
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			if c := cut(ctx, err); c != nil {
				return nil, c
			}
			return nil, fmt.Errorf("reading the API server's discovery (which resource serves %s): %w", gvk, b.workloads().Explain(err, kube.Kind{}))
		}
		out[gvk] = kube.Kind{GVR: m.Resource, Kind: gvk.Kind, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}
	}
	return out, nil
}

// AppObject implements Backend.
func (b *KubeBackend) AppObject(ctx context.Context, o AppObject) (*unstructured.Unstructured, error) {
	live, err := b.workloads().Resource(o.Kind, o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	return live, b.explain(ctx, err, o.Kind)
}

// DeleteAppObject implements Backend: foreground propagation, the UID as a precondition.
func (b *KubeBackend) DeleteAppObject(ctx context.Context, o AppObject, uid types.UID) error {
	fg := metav1.DeletePropagationForeground
	opts := metav1.DeleteOptions{PropagationPolicy: &fg}
	if uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	return b.explain(ctx, b.workloads().Resource(o.Kind, o.Namespace).Delete(ctx, o.Name, opts), o.Kind)
}

// WatchAppObjects is one watch on the Application, one per kind and namespace
// of objs, and one on the pods of each namespace; changed is called once every
// watch has listed, then at each change.
func (b *KubeBackend) WatchAppObjects(ctx context.Context, objs []AppObject, changed func(Undeploying) (bool, error)) error {
	if len(objs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type watched struct {
		w     *kube.Watcher
		names []string // the objects it is for; none: the pods of a namespace, or the Application
		app   bool
	}
	app := objs[0].App
	watches := []*watched{{w: b.Client.Watch(ctx, kube.Applications, b.Namespace, kube.Named(app)), app: true}}
	byKind := map[string]*watched{}
	podsIn := map[string]bool{}
	for _, o := range objs {
		k := o.Kind.GVR.String() + " " + o.Namespace
		if byKind[k] == nil {
			byKind[k] = &watched{w: b.workloads().Watch(ctx, o.Kind, o.Namespace, kube.Selector{})}
			watches = append(watches, byKind[k])
		}
		byKind[k].names = append(byKind[k].names, o.Name)
		if o.Namespace != "" && !podsIn[o.Namespace] {
			podsIn[o.Namespace] = true
			watches = append(watches, &watched{w: b.workloads().Watch(ctx, kube.Pods, o.Namespace, kube.Selector{})})
		}
	}
	type update struct {
		i    int
		snap kube.Snapshot
		ok   bool
	}
	updates := make(chan update)
	for i, wt := range watches {
		go func() {
			for snap := range wt.w.C {
				select {
				case updates <- update{i, snap, true}:
				case <-ctx.Done():
					return
				}
			}
			select {
			case updates <- update{i: i}:
			case <-ctx.Done():
			}
		}()
	}
	snaps := make([]kube.Snapshot, len(watches))
	seen := make([]bool, len(watches))
	listed := 0
	for {
		var u update
		select {
		case u = <-updates:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !u.ok {
			if err := watches[u.i].w.Err(); err != nil {
				return err
			}
			return ctx.Err()
		}
		if !seen[u.i] {
			seen[u.i] = true
			listed++
		}
		snaps[u.i] = u.snap
		if listed < len(watches) {
			continue
		}
		now := Undeploying{Pods: kube.Snapshot{}}
		for i, wt := range watches {
			switch {
			case wt.app:
				now.App = snaps[i][app]
			case wt.names == nil:
				for _, p := range snaps[i] {
					now.Pods[p.GetNamespace()+"/"+p.GetName()] = p
				}
			default:
				for _, name := range wt.names {
					if o := snaps[i][name]; o != nil {
						now.Left = append(now.Left, o)
					}
				}
			}
		}
		if done, err := changed(now); done || err != nil {
			return err
		}
	}
}

// uniqueRequests keeps the first of the permissions that make the same
// request: a SelfSubjectAccessReview asks about the request alone.
func uniqueRequests(perms []Permission) []Permission {
	out := make([]Permission, 0, len(perms))
	for _, p := range perms {
		if !slices.ContainsFunc(out, func(q Permission) bool { return q.Request == p.Request }) {
			out = append(out, p)
		}
	}
	return out
}
