package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Scale is a workload's /scale subresource: what `kubectl scale` reads and
// writes for any kind that has one.
type Scale struct {
	Replicas        int64  // spec.replicas
	Selector        string // status.selector: the label selector of its pods
	ResourceVersion string // the workload's, a precondition for the write
}

// ScaleOf reads an autoscaling/v1 Scale object.
func ScaleOf(u *unstructured.Unstructured) Scale {
	replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	selector, _, _ := unstructured.NestedString(u.Object, "status", "selector")
	return Scale{Replicas: replicas, Selector: selector, ResourceVersion: u.GetResourceVersion()}
}

// ScalableKind resolves Kind.group to the resource the API server serves it
// as, through discovery (the RESTMapper kubectl builds: cached on disk, so a
// warm run asks nothing), and checks it has the /scale subresource.
func (c *Client) ScalableKind(group, kind string) (Kind, error) {
	k, err := c.KindOf(group, kind)
	if err != nil {
		return Kind{}, err
	}
	if k == Deployments || k == StatefulSets || c.Discovery == nil {
		return k, nil
	}
	resources, err := c.Discovery.ServerResourcesForGroupVersion(k.GVR.GroupVersion().String())
	if err != nil {
		return Kind{}, fmt.Errorf("discovery of %s on %s: %w", k.GVR.GroupVersion(), c.Server, err)
	}
	for _, r := range resources.APIResources {
		if r.Name == k.GVR.Resource+"/scale" {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("%s has no /scale subresource on %s: it cannot be scaled (kubectl scale could not either); gate it with a sync gate, or scale a kind that has one", groupKind(group, kind), c.Server)
}

// KindOf resolves Kind.group through the RESTMapper; kinds the plugins know
// need no discovery.
func (c *Client) KindOf(group, kind string) (Kind, error) {
	for _, k := range append([]Kind{StatefulSets, HPAs}, known...) {
		if k.GVR.Group == group && k.Kind == kind {
			return k, nil
		}
	}
	if c.Mapper == nil {
		return Kind{}, fmt.Errorf("%s: no discovery to resolve the kind", groupKind(group, kind))
	}
	m, err := c.Mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
	if meta.IsNoMatchError(err) {
		return Kind{}, fmt.Errorf("%s is not served by %s (context %q): is its CRD installed, and are the kind and group spelled as its CRD spells them?", groupKind(group, kind), c.Server, c.Context)
	}
	if err != nil {
		return Kind{}, fmt.Errorf("resolving %s on %s: %w", groupKind(group, kind), c.Server, err)
	}
	return Kind{GVR: m.Resource, Kind: kind, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}, nil
}

func groupKind(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// GetScale reads a workload's /scale subresource.
func (c *Client) GetScale(ctx context.Context, k Kind, namespace, name string) (Scale, error) {
	u, err := c.Resource(k, namespace).Get(ctx, name, metav1.GetOptions{}, "scale")
	if err != nil {
		return Scale{}, err
	}
	return ScaleOf(u), nil
}

// PatchScale sets a workload's replicas through its /scale subresource,
// guarded by resourceVersion (a Conflict when the workload changed since it
// was read). fieldManager owns spec.replicas afterwards.
func (c *Client) PatchScale(ctx context.Context, k Kind, namespace, name string, replicas int64, resourceVersion, fieldManager string) error {
	patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"spec":{"replicas":%d}}`, resourceVersion, replicas)
	_, err := c.Resource(k, namespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager}, "scale")
	return err
}

// IsNoScale says whether err is a 404 for a /scale subresource the kind lacks.
func IsNoScale(err error) bool {
	var status apierrors.APIStatus
	return apierrors.IsNotFound(err) && errors.As(err, &status) && strings.Contains(status.Status().Message, "could not find the requested resource")
}
