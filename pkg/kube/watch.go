package kube

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// Selector narrows a watch: label and field selectors, as in kubectl get -l / --field-selector.
type Selector struct {
	Labels string
	Fields string
}

// Named selects one object by name.
func Named(name string) Selector { return Selector{Fields: "metadata.name=" + name} }

// Snapshot is every watched object, by name.
type Snapshot map[string]*unstructured.Unstructured

// Watch lists and then watches the objects of one kind in a namespace, and sends
// the whole set each time it changes: first once the initial list is in, then after
// every event. It is one LIST and one WATCH; the reflector resumes the watch from
// its last resourceVersion, and relists after a 410 Gone or an apiserver restart,
// so a wait survives both. A slow reader gets the latest set, not a backlog. The
// channel closes when ctx ends.
func (c *Client) Watch(ctx context.Context, k Kind, namespace string, sel Selector) <-chan Snapshot {
	res := c.Resource(k, namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector, o.FieldSelector = sel.Labels, sel.Fields
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector, o.FieldSelector = sel.Labels, sel.Fields
			return res.Watch(ctx, o)
		},
	}
	informer := cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{})
	changed := make(chan struct{}, 1)
	notify := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, o any) { notify(o) },
		DeleteFunc: notify,
	})
	out := make(chan Snapshot, 1)
	go informer.RunWithContext(ctx)
	go func() {
		defer close(out)
		if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
			return
		}
		for {
			snap := Snapshot{}
			for _, o := range informer.GetStore().List() {
				u := o.(*unstructured.Unstructured)
				snap[u.GetName()] = u
			}
			select {
			case <-out: // drop a set nobody read yet: the new one supersedes it
			default:
			}
			out <- snap
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}()
	return out
}
