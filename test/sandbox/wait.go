package sandbox

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// kind is a namespaced resource for the plugins' own list+watch (kube.Client.Watch),
// which the tests use so the waits they trust are the waits the plugins run.
func kind(gvr schema.GroupVersionResource) kube.Kind { return kube.Kind{GVR: gvr, Namespaced: true} }

// WaitFor watches one object until cond holds and returns the object that
// satisfied it. On timeout the error says what the object looked like last.
func (s *Sandbox) WaitFor(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string,
	cond func(*unstructured.Unstructured) (bool, error)) (*unstructured.Unstructured, error) {
	var last *unstructured.Unstructured
	for snap := range s.Client.Watch(ctx, kind(gvr), namespace, kube.Named(name)).C {
		u := snap[name]
		if u == nil {
			continue
		}
		last = u
		ok, err := cond(u)
		if err != nil || ok {
			return u, err
		}
	}
	state := "never seen"
	if last != nil {
		state = fmt.Sprintf("last status: %v", last.Object["status"])
	}
	return nil, fmt.Errorf("waiting for %s %s/%s: %w (%s)", gvr.Resource, namespace, name, ctx.Err(), state)
}

// WaitGone watches an object until it does not exist.
func (s *Sandbox) WaitGone(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) error {
	for snap := range s.Client.Watch(ctx, kind(gvr), namespace, kube.Named(name)).C {
		if snap[name] == nil {
			return nil
		}
	}
	return fmt.Errorf("waiting for %s %s/%s to be gone: %w", gvr.Resource, namespace, name, ctx.Err())
}
