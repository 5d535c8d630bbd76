package costgate_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// deploy/argocd-rbac/policy.csv lets the on-call role work every gate of the
// real platform in server mode (closing a sync gate: the fine-grained delete
// of what it deployed), update (to record the lease and opener) only on the
// gates' own Applications, named one by one: never a glob over the project,
// which would let it switch any app's sync policy; and no delete of an
// Application.
func TestShippedArgoCDPolicyCoversEveryGate(t *testing.T) {
	data, err := os.ReadFile("../../deploy/argocd-rbac/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	var granted []string // "applications, action, object" globs of the on-call role
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) != 6 || f[0] != "p" || f[5] != "allow" {
			t.Fatalf("not a policy line: %q", line)
		}
		if f[1] == "role:aidev-oncall" && f[3] == "update" && strings.ContainsAny(f[4], "*?") {
			t.Errorf("the on-call role may update Applications that are not gates: %q", line)
		}
		if f[1] == "role:aidev-oncall" && f[3] == "delete" {
			t.Errorf("the on-call role may delete Applications: %q", line)
		}
		if f[1] == "role:aidev-oncall" {
			granted = append(granted, f[2]+", "+f[3]+", "+f[4])
		}
	}
	env, err := platform.Load("../../clusters", "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	// Every policy the verbs' own checks ask for (costgate.ArgoPolicies) is
	// granted: Argo CD matches * across any characters, / included.
	for _, a := range costgate.Gated(env) {
		needs := append(costgate.ArgoPolicies(env.Descriptor.Project, env.Config.Namespace, a), costgate.ArgoClosePolicies(env, a)...)
		for _, need := range needs {
			if !slices.ContainsFunc(granted, func(g string) bool { return globMatch(g, need) }) {
				t.Errorf("gate %s: no policy line grants %q", a.Name, need)
			}
		}
	}
}

// globMatch is Argo CD's RBAC glob: * matches any run of characters.
func globMatch(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}
