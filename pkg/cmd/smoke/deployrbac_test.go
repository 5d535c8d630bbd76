package smoke

import (
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/internal/rbactest"
	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// deploy/rbac grants each persona what the verbs it runs declare they send
// (profile.Needs, costgate.Needs, doctor's own): the shipped roles cannot
// drift from the code. Viewers run the required verbs and costgate list,
// on-call the cost gates too, platform admins apply and prune.
func TestShippedRolesGrantWhatTheVerbsDeclare(t *testing.T) {
	env, err := platform.Load("../../../clusters", "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	docs := rbactest.Read(t, "../../../deploy/rbac/clusterroles.yaml", "../../../deploy/rbac/bindings.yaml")
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
				if !rbactest.Allows(docs, rbactest.Subject{Kind: "Group", Name: group}, r) {
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
