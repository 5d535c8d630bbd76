package kube_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// An object is a member of the set it was labelled for, not of another
// set's (the same tool in another environment).
func TestApplySetMembership(t *testing.T) {
	mine := kube.ApplySet{Name: "kubectl-profile-ai-dev", Namespace: "argocd", Tooling: "kubectl-profile/v1"}
	other := kube.ApplySet{Name: "kubectl-profile-sandbox", Namespace: "argocd", Tooling: "kubectl-profile/v1"}
	o := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "layer-serving"}}}
	if mine.IsMember(o) {
		t.Error("an unlabelled object is no member")
	}
	mine.Label(o)
	if !mine.IsMember(o) || other.IsMember(o) {
		t.Errorf("labels %v: member of mine %v, of the other %v", o.GetLabels(), mine.IsMember(o), other.IsMember(o))
	}
}
