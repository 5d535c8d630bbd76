package costgate_test

import (
	"os"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// deploy/argocd-rbac/policy.csv lets the on-call role work every gate of the
// real platform in server mode, and gives it no update of any Application's
// spec (which could switch a gate to auto-sync).
func TestShippedArgoCDPolicyCoversEveryGate(t *testing.T) {
	data, err := os.ReadFile("../../deploy/argocd-rbac/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	policy := map[string]bool{}
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
		if f[1] == "role:aidev-oncall" && f[3] == "update" {
			t.Errorf("the on-call role may update Applications: %q", line)
		}
		policy[f[1]+" "+f[2]+" "+f[3]+" "+f[4]] = true
	}
	env, err := platform.Load("../../clusters", "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	const role = "role:aidev-oncall applications "
	for _, a := range costgate.Gated(env) {
		object := env.Descriptor.Project + "/" + a.Name
		want := []string{role + "get " + env.Descriptor.Project + "/*", role + "sync " + object}
		switch a.Gate.Kind {
		case platform.GateScale:
			want = append(want, role+"update/apps/Deployment/* "+object)
		case platform.GatePause:
			want = append(want, role+"update/serving.kserve.io/InferenceService/* "+object)
		}
		for _, w := range want {
			if !policy[w] {
				t.Errorf("gate %s: no policy line %q", a.Name, w)
			}
		}
	}
}
