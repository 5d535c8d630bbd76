package kube

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// kubectl's ApplySet convention (KEP-3659): a parent object labelled with the set's
// id, members labelled part-of that id, so the set a tool owns is known and only
// its own objects are ever pruned.
const (
	ApplySetIDLabel           = "applyset.kubernetes.io/id"
	ApplySetPartOfLabel       = "applyset.kubernetes.io/part-of"
	ApplySetToolingAnnotation = "applyset.kubernetes.io/tooling"
	ApplySetGroupKinds        = "applyset.kubernetes.io/contains-group-kinds"
)

// ApplySet is a set of objects one tool owns, tracked by a ConfigMap parent.
type ApplySet struct {
	Name      string // the parent ConfigMap's name
	Namespace string
	Tooling   string // <tool>/<version>
	Kinds     []Kind // what members can be
}

// ID is the set's id: base64url(sha256(name.namespace.kind.group)), as kubectl computes it.
func (a ApplySet) ID() string {
	sum := sha256.Sum256([]byte(strings.Join([]string{a.Name, a.Namespace, "ConfigMap", ""}, ".")))
	return fmt.Sprintf("applyset-%s-v1", base64.RawURLEncoding.EncodeToString(sum[:]))
}

// Label marks obj as a member of the set.
func (a ApplySet) Label(obj *unstructured.Unstructured) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ApplySetPartOfLabel] = a.ID()
	obj.SetLabels(labels)
}

// Parent is the ConfigMap that stands for the set, with extra annotations (for
// example which profile was applied last).
func (a ApplySet) Parent(annotations map[string]string) *unstructured.Unstructured {
	gks := make([]string, len(a.Kinds))
	for i, k := range a.Kinds {
		gks[i] = k.GroupKind()
	}
	sort.Strings(gks)
	ann := map[string]any{
		ApplySetToolingAnnotation: a.Tooling,
		ApplySetGroupKinds:        strings.Join(gks, ","),
	}
	for k, v := range annotations {
		ann[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":        a.Name,
			"namespace":   a.Namespace,
			"labels":      map[string]any{ApplySetIDLabel: a.ID()},
			"annotations": ann,
		},
	}}
}

// GetParent reads the set's parent; nil when the set was never applied. It refuses
// a parent that another tool owns.
func (a ApplySet) GetParent(ctx context.Context, c *Client) (*unstructured.Unstructured, error) {
	p, err := c.Resource(ConfigMaps, a.Namespace).Get(ctx, a.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.Explain(err, ConfigMaps)
	}
	if p.GetLabels()[ApplySetIDLabel] != a.ID() {
		return nil, fmt.Errorf("ConfigMap %s/%s exists but is not the ApplySet parent %s expects", a.Namespace, a.Name, a.ID())
	}
	tool := p.GetAnnotations()[ApplySetToolingAnnotation]
	if name, _, _ := strings.Cut(tool, "/"); name != toolName(a.Tooling) {
		return nil, fmt.Errorf("ApplySet %s/%s belongs to %q, not to %s", a.Namespace, a.Name, tool, toolName(a.Tooling))
	}
	return p, nil
}

func toolName(tooling string) string { name, _, _ := strings.Cut(tooling, "/"); return name }

// IsMember says whether a live object belongs to the set.
func (a ApplySet) IsMember(o *unstructured.Unstructured) bool {
	return o.GetLabels()[ApplySetPartOfLabel] == a.ID()
}

// Members lists the set's live objects of one kind: one LIST with a label selector.
func (a ApplySet) Members(ctx context.Context, c *Client, k Kind) ([]unstructured.Unstructured, error) {
	list, err := c.Resource(k, a.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ApplySetPartOfLabel + "=" + a.ID()})
	if err != nil {
		return nil, c.Explain(err, k)
	}
	return list.Items, nil
}

// Apply server-side applies obj with a field manager, forcing ownership of the
// fields it sets (the tool is their owner). dryRun asks the server to validate and
// compute the result without persisting it.
func (c *Client) Apply(ctx context.Context, obj *unstructured.Unstructured, fieldManager string, dryRun bool) (*unstructured.Unstructured, error) {
	k, err := KindFor(obj.GetAPIVersion(), obj.GetKind())
	if err != nil {
		return nil, err
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	out, err := c.Resource(k, obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, opts)
	if err != nil {
		return nil, fmt.Errorf("applying %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), c.Explain(err, k))
	}
	return out, nil
}

// Patch sends a precise patch with a field manager.
func (c *Client) Patch(ctx context.Context, k Kind, namespace, name string, pt types.PatchType, data []byte, fieldManager string) (*unstructured.Unstructured, error) {
	out, err := c.Resource(k, namespace).Patch(ctx, name, pt, data, metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, c.Explain(err, k)
	}
	return out, nil
}
