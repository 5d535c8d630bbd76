package sandbox

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// WaitFor lists and watches one object until cond holds (one LIST, then a WATCH
// that resumes where it left off), and returns the object that satisfied it. On
// timeout the error says what the object looked like last.
func (s *Sandbox) WaitFor(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string,
	cond func(*unstructured.Unstructured) (bool, error)) (*unstructured.Unstructured, error) {
	lw := s.nameListWatch(gvr, namespace, name)
	var last *unstructured.Unstructured
	ev, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(e watch.Event) (bool, error) {
		u, ok := e.Object.(*unstructured.Unstructured)
		if !ok || e.Type == watch.Deleted {
			return false, nil
		}
		last = u
		return cond(u)
	})
	if err != nil {
		state := "never seen"
		if last != nil {
			state = fmt.Sprintf("last status: %v", last.Object["status"])
		}
		return nil, fmt.Errorf("waiting for %s %s/%s: %w (%s)", gvr.Resource, namespace, name, err, state)
	}
	return ev.Object.(*unstructured.Unstructured), nil
}

// nameListWatch lists and watches one object by name.
func (s *Sandbox) nameListWatch(gvr schema.GroupVersionResource, namespace, name string) *cache.ListWatch {
	client := s.Dynamic.Resource(gvr).Namespace(namespace)
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return client.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return client.Watch(ctx, o)
		},
	}
}

// AppState returns an Application's sync status, health status and operation phase.
func AppState(app *unstructured.Unstructured) (syncStatus, health, phase string) {
	syncStatus, _, _ = unstructured.NestedString(app.Object, "status", "sync", "status")
	health, _, _ = unstructured.NestedString(app.Object, "status", "health", "status")
	phase, _, _ = unstructured.NestedString(app.Object, "status", "operationState", "phase")
	return
}

// WaitGone waits until an object does not exist (one LIST, then a WATCH).
func (s *Sandbox) WaitGone(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) error {
	lw := s.nameListWatch(gvr, namespace, name)
	absent := func(store cache.Store) (bool, error) { return len(store.List()) == 0, nil }
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, absent, func(e watch.Event) (bool, error) {
		return e.Type == watch.Deleted, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s %s/%s to be gone: %w", gvr.Resource, namespace, name, err)
	}
	return nil
}
