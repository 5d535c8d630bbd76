package grpcclient

import (
	"context"
	"errors"
	"strings"
	"time"

	accountpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/account"
	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The objects an Application deploys, read, patched and watched through it.

var applications = schema.GroupResource{Group: "argoproj.io", Resource: "applications"}

// Applications lists the Applications the token may see.
func (s *Client) Applications(ctx context.Context) ([]*unstructured.Unstructured, error) {
	var list *v1alpha1.ApplicationList
	err := s.call(ctx, "listing the Applications", true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (err error) {
		list, err = apps.List(ctx, &applicationpkg.ApplicationQuery{})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		u, err := toUnstructured(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func resourceRequest(app string, gvk schema.GroupVersionKind, namespace, name string) *applicationpkg.ApplicationResourceRequest {
	return &applicationpkg.ApplicationResourceRequest{
		Name: &app, Namespace: &namespace, ResourceName: &name,
		Group: &gvk.Group, Version: &gvk.Version, Kind: &gvk.Kind,
	}
}

// Resource reads the live object app deploys; apierrors NotFound when the app
// holds no such object.
func (s *Client) Resource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	var res *applicationpkg.ApplicationResourceResponse
	err := s.call(ctx, "reading "+gvk.Kind+" "+namespace+"/"+name, true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (err error) {
		res, err = apps.GetResource(ctx, resourceRequest(app, gvk, namespace, name))
		return s.objectError(err, gvk, name)
	})
	if err != nil {
		return nil, err
	}
	return decodeManifest(res.GetManifest())
}

// PatchResource merge-patches an object app deploys (Argo CD RBAC: applications,
// update, or its fine-grained update/<group>/<kind>/<namespace>/<name>). A
// resourceVersion in the patch is the precondition it is for the API server:
// a conflict comes back as apierrors Conflict.
func (s *Client) PatchResource(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace, name string, mergePatch []byte) error {
	patch, patchType := string(mergePatch), "application/merge-patch+json"
	r := resourceRequest(app, gvk, namespace, name)
	// Made again on a new connection: the resourceVersion in the patch makes a
	// second landing a conflict, which the gates read again and decide anew.
	return s.call(ctx, "patching "+gvk.Kind+" "+namespace+"/"+name, true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) error {
		_, err := apps.PatchResource(ctx, &applicationpkg.ApplicationResourcePatchRequest{
			Name: r.Name, Namespace: r.Namespace, ResourceName: r.ResourceName,
			Group: r.Group, Version: r.Version, Kind: r.Kind, Patch: &patch, PatchType: &patchType,
		})
		return s.objectError(err, gvk, name)
	})
}

// ResourcesOf reads the live objects of one kind in app's resource tree
// (Pods included: the tree holds what the app's objects own).
func (s *Client) ResourcesOf(ctx context.Context, app string, gvk schema.GroupVersionKind, namespace string) ([]*unstructured.Unstructured, error) {
	var tree *v1alpha1.ApplicationTree
	err := s.call(ctx, "reading "+app+"'s resource tree", true, func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (err error) {
		tree, err = apps.ResourceTree(ctx, &applicationpkg.ResourcesQuery{ApplicationName: &app})
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, n := range tree.Nodes {
		if n.Group != gvk.Group || n.Kind != gvk.Kind || n.Namespace != namespace {
			continue
		}
		o, err := s.Resource(ctx, app, gvk, n.Namespace, n.Name)
		if apierrors.IsNotFound(err) {
			continue // gone since the tree was read
		}
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// treeRecheck is how often WatchTree reads again when the tree stream says
// nothing: Argo CD's WatchResourceTree sends only the changes it is notified
// of after it subscribed, never the current tree.
var treeRecheck = 10 * time.Second

// WatchTree calls changed now, each time app's resource tree changes, after
// each (re)opened stream, and every treeRecheck in between: a change made
// while the stream was being (re)opened is never announced on it (Argo CD
// sends no current tree), so it is read instead of waited for. The watch is
// opened again when its connection is lost, until ctx ends.
func (s *Client) WatchTree(ctx context.Context, app string, changed func() (bool, error)) error {
	if done, err := changed(); done || err != nil {
		return err
	}
	err := s.watch(ctx, "watching "+app+"'s resources", func(ctx context.Context, apps applicationpkg.ApplicationServiceClient) (func() (bool, error), error) {
		stream, err := apps.WatchResourceTree(ctx, &applicationpkg.ResourcesQuery{ApplicationName: &app})
		if err != nil {
			return nil, err
		}
		events := make(chan error, 1)
		go func() { // ends with the stream: its context ends with the attempt
			for {
				_, err := stream.Recv()
				select {
				case events <- err:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		recheck := time.NewTicker(treeRecheck)
		opened := true
		return func() (bool, error) {
			if !opened {
				select {
				case err := <-events:
					if err != nil {
						recheck.Stop()
						return false, err
					}
				case <-recheck.C:
				case <-ctx.Done():
					recheck.Stop()
					return false, ctx.Err()
				}
			}
			opened = false
			done, err := changed()
			if err != nil {
				return false, &permanent{err} // the caller's own verdict, not the connection's
			}
			if done {
				recheck.Stop()
			}
			return done, nil
		}, nil
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var p *permanent
	if errors.As(err, &p) {
		return p.error
	}
	return err
}

// CanI asks Argo CD's RBAC whether the token may do action on resource object.
func (s *Client) CanI(ctx context.Context, resource, action, object string) (bool, error) {
	res, err := unary(ctx, s, "asking can-i", s.account, func(cctx context.Context, acc accountpkg.AccountServiceClient) (*accountpkg.CanIResponse, error) {
		return acc.CanI(cctx, &accountpkg.CanIRequest{Resource: resource, Action: action, Subresource: object})
	})
	if err != nil {
		return false, err
	}
	return res.Value == "yes", nil
}

// unary makes one idempotent call on a kept service (dialled by open),
// bounded by the request timeout and retried on a lost connection.
func unary[S, R any](ctx context.Context, s *Client, doing string, open func(context.Context) (S, error), call func(context.Context, S) (R, error)) (R, error) {
	var res R
	err := s.retry(ctx, doing, true, func() error {
		svc, err := open(ctx)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
		defer cancel()
		res, err = call(cctx, svc)
		if err != nil && ctx.Err() == nil && timedOut(cctx, err) {
			return s.noAnswer(s.opts.RequestTimeout, doing)
		}
		return err
	})
	return res, err
}

// objectError turns what the API says about one object into the Kubernetes
// API's errors where the gates act on them (absent, conflict).
func (s *Client) objectError(err error, gvk schema.GroupVersionKind, name string) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	msg := st.Message()
	gr := schema.GroupResource{Group: gvk.Group, Resource: strings.ToLower(gvk.Kind) + "s"}
	switch {
	case st.Code() == codes.NotFound && strings.Contains(msg, "applications"):
		return apierrors.NewNotFound(applications, name)
	case st.Code() == codes.NotFound, strings.Contains(msg, "not found as part of application"):
		return apierrors.NewNotFound(gr, name)
	case strings.Contains(msg, "the object has been modified"):
		return apierrors.NewConflict(gr, name, errors.New(msg))
	}
	return err
}

// decodeManifest reads a live manifest as the Kubernetes API's client does
// (whole numbers as int64, so replicas read as numbers).
func decodeManifest(manifest string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(manifest)); err != nil {
		return nil, err
	}
	return u, nil
}
