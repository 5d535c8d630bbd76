package rbactest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
)

const shipped = `apiVersion: v1
kind: Namespace
metadata: {name: serving}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: watcher, namespace: serving}
rules:
- apiGroups: [apps]
  resources: [deployments/scale]
  resourceNames: [raw-vllm]
  verbs: [get, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: watcher, namespace: serving}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: watcher}
subjects:
- {kind: ServiceAccount, name: watcher, namespace: costgate}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
- apiGroups: ["*"]
  resources: [nodes]
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: viewers}
`

// A Role grants in its binding's namespace, resourceNames only the names they
// list, a ClusterRoleBinding everywhere; a ServiceAccount is bound in its
// namespace only.
func TestAllowsAndGrants(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rbac.yaml")
	if err := os.WriteFile(path, []byte(shipped), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := Read(t, path)
	if len(docs) != 4 {
		t.Fatalf("read %d RBAC objects, want 4 (the Namespace skipped)", len(docs))
	}
	sa := Subject{Kind: "ServiceAccount", Name: "watcher", Namespace: "costgate"}
	scale := access.Request{Verb: "patch", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: "serving", ResourceName: "raw-vllm"}
	for _, c := range []struct {
		subject Subject
		r       access.Request
		want    bool
	}{
		{sa, scale, true},
		{sa, func() access.Request { r := scale; r.ResourceName = "other"; return r }(), false},
		{sa, func() access.Request { r := scale; r.ResourceName = ""; return r }(), false},
		{sa, func() access.Request { r := scale; r.Namespace = "kserve"; return r }(), false},
		{Subject{Kind: "ServiceAccount", Name: "watcher", Namespace: "default"}, scale, false},
		{sa, access.Request{Verb: "list", Resource: "pods", Namespace: "serving"}, true},
		{sa, access.Request{Verb: "list", Resource: "pods"}, false},
		{Subject{Kind: "Group", Name: "viewers"}, access.Request{Verb: "list", Resource: "nodes"}, true},
		{Subject{Kind: "Group", Name: "viewers"}, access.Request{Verb: "list", Group: "x.io", Resource: "nodes", Namespace: "serving"}, true},
	} {
		if got := Allows(docs, c.subject, c.r); got != c.want {
			t.Errorf("%v may %s: %v, want %v", c.subject, c.r, got, c.want)
		}
	}
	grants := Grants(docs, sa)
	want := []access.Request{
		{Verb: "get", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: "serving", ResourceName: "raw-vllm"},
		scale,
		{Verb: "list", Resource: "pods", Namespace: "serving"},
	}
	if !slices.Equal(grants, want) {
		t.Errorf("grants %v\nwant %v", grants, want)
	}
	if g := Grants(docs, Subject{Kind: "Group", Name: "viewers"}); len(g) != 1 || g[0].Group != "*" || g[0].Namespace != "" {
		t.Errorf("the viewers' grants %v, want the wildcard list of nodes, cluster-wide", g)
	}
}
