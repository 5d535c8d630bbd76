package smoke

import (
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// rbacDoc is the part of a ClusterRole or a binding the check reads.
type rbacDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string
	Metadata   struct{ Name, Namespace string }
	Rules      []struct{ APIGroups, Resources, Verbs []string }
	RoleRef    struct{ Name string } `json:"roleRef"`
	Subjects   []struct{ Name string }
}

func readRBAC(t *testing.T, files ...string) []rbacDoc {
	t.Helper()
	var docs []rbacDoc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.Split(string(data), "\n---") {
			var d rbacDoc
			if err := yaml.Unmarshal([]byte(part), &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if d.Kind != "" && d.APIVersion != "rbac.authorization.k8s.io/v1" {
				t.Errorf("%s: %s %s has apiVersion %q, want rbac.authorization.k8s.io/v1", f, d.Kind, d.Metadata.Name, d.APIVersion)
			}
			if d.Kind != "" {
				docs = append(docs, d)
			}
		}
	}
	return docs
}

func has(list []string, v string) bool { return slices.Contains(list, v) || slices.Contains(list, "*") }

// allows says whether the roles bound to group grant r: a namespaced request
// by a RoleBinding in its namespace or a ClusterRoleBinding, a cluster-wide
// one by a ClusterRoleBinding only.
func allows(docs []rbacDoc, group string, r access.Request) bool {
	resource := r.Resource
	if r.Subresource != "" {
		resource += "/" + r.Subresource
	}
	for _, b := range docs {
		if b.Kind != "ClusterRoleBinding" && (b.Kind != "RoleBinding" || r.Namespace == "" || b.Metadata.Namespace != r.Namespace) {
			continue
		}
		if !slices.ContainsFunc(b.Subjects, func(s struct{ Name string }) bool { return s.Name == group }) {
			continue
		}
		for _, role := range docs {
			if role.Kind != "ClusterRole" || role.Metadata.Name != b.RoleRef.Name {
				continue
			}
			for _, rule := range role.Rules {
				if has(rule.APIGroups, r.Group) && has(rule.Resources, resource) && has(rule.Verbs, r.Verb) {
					return true
				}
			}
		}
	}
	return false
}

// deploy/rbac grants each persona what the verbs it runs declare they send
// (profile.Needs, costgate.Needs, doctor's own): the shipped roles cannot
// drift from the code. Viewers run the required verbs and costgate list,
// on-call the cost gates too, platform admins apply and prune.
func TestShippedRolesGrantWhatTheVerbsDeclare(t *testing.T) {
	env, err := platform.Load("../../../clusters", "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	docs := readRBAC(t, "../../../deploy/rbac/clusterroles.yaml", "../../../deploy/rbac/bindings.yaml")
	needs := Needs(env, platform.Profile{Layers: env.LayerNames()})
	personas := map[string]func(access.Need) bool{
		"aidev:viewers":         func(n access.Need) bool { return n.Required || n.Command == "costgate list" },
		"aidev:oncall":          func(n access.Need) bool { return n.Required || strings.HasPrefix(n.Command, "costgate ") },
		"aidev:platform-admins": func(n access.Need) bool { return n.Required || strings.HasPrefix(n.Command, "profile ") },
	}
	checked := 0
	for group, runs := range personas {
		for _, n := range needs {
			if !runs(n) {
				continue
			}
			var missing []access.Request
			for _, r := range n.Requests {
				checked++
				if !allows(docs, group, r) {
					missing = append(missing, r)
				}
			}
			if len(missing) > 0 {
				t.Errorf("deploy/rbac does not let %s run %s: %s", group, n.Command, access.Describe(missing))
			}
		}
	}
	if checked < 40 {
		t.Errorf("checked %d requests: too few to mean anything", checked)
	}
}
