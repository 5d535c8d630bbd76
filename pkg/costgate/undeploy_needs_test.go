package costgate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// What down of the real platform's sync gates declares it needs, from the
// repository alone: Kubernetes requests (core mode) and Argo CD policies
// (server mode), for smoke doctor, deploy/rbac and policy.csv.
func TestCloseNeedsOfTheRealPlatform(t *testing.T) {
	env, err := platform.Load("../../clusters", "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range Gated(env) {
		objs := DeployedBy(env, a)
		if a.Gate.Kind != platform.GateSync {
			if len(objs) != 0 {
				t.Errorf("%s is no sync gate but deploys %v", a.Name, objs)
			}
			continue
		}
		fmt.Fprintf(&b, "%s deletes:\n", a.Name)
		for _, o := range objs {
			fmt.Fprintf(&b, "  %d %s (%s)\n", o.Wave, o, o.Kind.GVR.GroupResource())
		}
		fmt.Fprintf(&b, "%s policies:\n  %s\n", a.Name, strings.Join(ArgoClosePolicies(env, a), "\n  "))
	}
	for _, n := range CloseNeeds(env, Configured(env)) {
		fmt.Fprintf(&b, "%s:\n  %s\n", n.Command, strings.ReplaceAll(access.Describe(n.Requests), ", ", "\n  "))
	}
	golden.Assert(t, "testdata/close/ai-dev-needs.golden", b.String())
}

// In server mode down of the sandbox's inference-demo declares get and update
// on the app (its opener and lease) and the fine-grained delete of its Deployment.
func TestArgoClosePoliciesOfTheSandbox(t *testing.T) {
	env := sandbox(t)
	policies := ArgoClosePolicies(env, gate(t, env, "inference-demo"))
	if want := "applications, get, platform/inference-demo; applications, update, platform/inference-demo; applications, delete/apps/Deployment/inference-demo/inference-demo, platform/inference-demo"; strings.Join(policies, "; ") != want {
		t.Errorf("declared policies %q\nwant %s", strings.Join(policies, "; "), want)
	}
}
