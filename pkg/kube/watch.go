package kube

import (
	"context"
	"errors"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
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

// Watcher delivers the watched set each time it changes, on C. C closes when the
// context ends or the API server refuses the LIST or WATCH (401/403): Err then
// says why, in the user's terms.
type Watcher struct {
	C <-chan Snapshot

	mu      sync.Mutex
	err     error
	trouble error // what the watch is riding out now (the server gone), nil once it hears again
}

// Trouble is what the watch is riding out now: the last failure to list or
// watch since the last event (nil when the server answers). A wait that has
// heard nothing for a while says it, rather than only what it last saw.
func (w *Watcher) Trouble() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.trouble
}

// SetTrouble records (or, with nil, clears) what the watch is riding out.
func (w *Watcher) SetTrouble(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trouble = err
}

// NewWatcher is a Watcher over sets another source sends on c (Argo CD's
// application stream, say); fail records why that source ended it, before it
// closes c.
func NewWatcher(c <-chan Snapshot) (w *Watcher, fail func(error)) {
	w = &Watcher{C: c}
	return w, func(err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.err = err
	}
}

// Err is the refusal that ended the watch, nil when the context ended it.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Watch lists and then watches the objects of one kind in a namespace, and sends
// the whole set each time it changes: first once the initial list is in, then after
// every event. It is one LIST and one WATCH; the reflector resumes the watch from
// its last resourceVersion, and relists after a 410 Gone or an apiserver restart,
// so a wait survives both. A slow reader gets the latest set, not a backlog. A
// 401 or 403 ends it at once (retrying cannot help) instead of logging the
// refusal until the caller's timeout.
func (c *Client) Watch(ctx context.Context, k Kind, namespace string, sel Selector) *Watcher {
	ctx, cancel := context.WithCancel(ctx)
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
	// The server applies the selectors; applying them here too keeps a watch
	// exact over clients that do not (client-go's fakes).
	labelSel, _ := labels.Parse(sel.Labels)
	fieldSel, _ := fields.ParseSelector(sel.Fields)
	matches := func(u *unstructured.Unstructured) bool {
		return (labelSel == nil || labelSel.Matches(labels.Set(u.GetLabels()))) &&
			(fieldSel == nil || fieldSel.Matches(fields.Set{"metadata.name": u.GetName(), "metadata.namespace": u.GetNamespace()}))
	}

	w := &Watcher{}
	// A client that cannot stream the initial list (client-go's fakes) says
	// so; without this the reflector waits 10 s for a bookmark that never comes.
	informer := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, c.Dynamic), &unstructured.Unstructured{}, 0, cache.Indexers{})
	_ = informer.SetWatchErrorHandlerWithContext(func(hctx context.Context, r *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			var status apierrors.APIStatus
			if errors.As(err, &status) {
				err = status.(error) // without the reflector's "failed to list *unstructured.Unstructured"
			}
			w.mu.Lock()
			if w.err == nil {
				w.err = c.Explain(err, k)
			}
			w.mu.Unlock()
			cancel()
			return
		}
		w.SetTrouble(c.Explain(err, k))
		cache.DefaultWatchErrorHandler(hctx, r, err)
	})
	changed := make(chan struct{}, 1)
	notify := func(any) {
		w.SetTrouble(nil)
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
	w.C = out
	go informer.RunWithContext(ctx)
	go func() {
		defer close(out)
		defer cancel()
		if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
			return
		}
		for {
			snap := Snapshot{}
			for _, o := range informer.GetStore().List() {
				if u := o.(*unstructured.Unstructured); matches(u) {
					snap[u.GetName()] = u
				}
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
	return w
}
