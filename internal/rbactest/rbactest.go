// Package rbactest reads shipped RBAC (Roles, ClusterRoles and their
// bindings) and answers, as the API server's RBAC authorizer would, whether it
// grants a request (access.Request) to a subject, and what it grants at all:
// the tests that keep deploy/rbac and the costgate-watcher's roles equal to
// what the code declares it needs.
package rbactest

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
)

const apiVersion = "rbac.authorization.k8s.io/v1"

// Doc is the part of a Role, ClusterRole or binding the checks read.
type Doc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string
	Metadata   struct{ Name, Namespace string }
	Rules      []Rule
	RoleRef    struct{ Kind, Name string } `json:"roleRef"`
	Subjects   []Subject
}

// Rule is one policy rule of a role.
type Rule struct {
	APIGroups     []string `json:"apiGroups"`
	Resources     []string
	Verbs         []string
	ResourceNames []string `json:"resourceNames"`
}

// Subject is who a binding binds: a Group (Namespace empty) or a ServiceAccount.
type Subject struct{ Kind, Name, Namespace string }

var kinds = map[string]bool{"Role": true, "ClusterRole": true, "RoleBinding": true, "ClusterRoleBinding": true}

// Read reads the RBAC objects of multi-document YAML files; other kinds are
// skipped. An RBAC object of another apiVersion than rbac.authorization.k8s.io/v1
// fails t.
func Read(t testing.TB, files ...string) []Doc {
	t.Helper()
	var docs []Doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.Split(string(data), "\n---") {
			var d Doc
			if err := yaml.Unmarshal([]byte(part), &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if d, ok := keep(t, f, d); ok {
				docs = append(docs, d)
			}
		}
	}
	return docs
}

// FromObject is obj's Doc when it is an RBAC object, with namespace as Argo CD
// applies it (its own, else the Application's destination).
func FromObject(t testing.TB, where string, obj map[string]any, namespace string) (Doc, bool) {
	t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var d Doc
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if d.Kind == "Role" || d.Kind == "RoleBinding" {
		d.Metadata.Namespace = namespace
	}
	return keep(t, where, d)
}

func keep(t testing.TB, where string, d Doc) (Doc, bool) {
	t.Helper()
	if !kinds[d.Kind] {
		return d, false
	}
	if d.APIVersion != apiVersion {
		t.Errorf("%s: %s %s has apiVersion %q, want %s", where, d.Kind, d.Metadata.Name, d.APIVersion, apiVersion)
	}
	return d, true
}

func has(list []string, v string) bool { return slices.Contains(list, v) || slices.Contains(list, "*") }

// binds says whether s names subject: the same kind and name, and for a
// ServiceAccount the same namespace.
func binds(s, subject Subject) bool {
	return s.Kind == subject.Kind && s.Name == subject.Name && (s.Kind != "ServiceAccount" || s.Namespace == subject.Namespace)
}

// bound calls f with each role bound to subject and the namespace the binding
// grants it in ("" for a ClusterRoleBinding: every namespace and the cluster).
func bound(docs []Doc, subject Subject, f func(role Doc, namespace string)) {
	for _, b := range docs {
		if b.Kind != "ClusterRoleBinding" && b.Kind != "RoleBinding" {
			continue
		}
		if !slices.ContainsFunc(b.Subjects, func(s Subject) bool { return binds(s, subject) }) {
			continue
		}
		ns := ""
		if b.Kind == "RoleBinding" {
			ns = b.Metadata.Namespace
		}
		for _, role := range docs {
			switch {
			case role.Kind == "ClusterRole" && b.RoleRef.Kind == "ClusterRole" && role.Metadata.Name == b.RoleRef.Name:
			case role.Kind == "Role" && b.RoleRef.Kind == "Role" && b.Kind == "RoleBinding" &&
				role.Metadata.Name == b.RoleRef.Name && role.Metadata.Namespace == ns:
			default:
				continue
			}
			f(role, ns)
		}
	}
}

// Allows says whether the roles bound to subject grant r: a namespaced request
// by a RoleBinding in its namespace or a ClusterRoleBinding, a cluster-wide one
// by a ClusterRoleBinding only; a rule with resourceNames grants only a request
// on one of those names.
func Allows(docs []Doc, subject Subject, r access.Request) bool {
	resource := r.Resource
	if r.Subresource != "" {
		resource += "/" + r.Subresource
	}
	allowed := false
	bound(docs, subject, func(role Doc, ns string) {
		if ns != "" && ns != r.Namespace {
			return
		}
		for _, rule := range role.Rules {
			named := len(rule.ResourceNames) == 0 || (r.ResourceName != "" && slices.Contains(rule.ResourceNames, r.ResourceName))
			if has(rule.APIGroups, r.Group) && has(rule.Resources, resource) && has(rule.Verbs, r.Verb) && named {
				allowed = true
			}
		}
	})
	return allowed
}

// Grants lists every request the roles bound to subject grant, one per group,
// resource, verb and resource name of each rule, in the namespace of its
// RoleBinding ("" for a ClusterRoleBinding). A wildcard stays "*", so that it
// equals no declared request.
func Grants(docs []Doc, subject Subject) []access.Request {
	var out []access.Request
	bound(docs, subject, func(role Doc, ns string) {
		for _, rule := range role.Rules {
			names := rule.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					resource, sub, _ := strings.Cut(res, "/")
					for _, v := range rule.Verbs {
						for _, n := range names {
							out = append(out, access.Request{Verb: v, Group: g, Resource: resource, Subresource: sub, Namespace: ns, ResourceName: n})
						}
					}
				}
			}
		}
	})
	return access.Unique(out)
}
