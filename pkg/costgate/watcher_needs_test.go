package costgate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// What the in-cluster watcher of the real platform sends to the Kubernetes
// API, per namespace: every write is on a named object of a gate, so the
// shipped roles grant it with resourceNames.
func TestWatcherNeedsOfTheRealPlatform(t *testing.T) {
	env, err := platform.Load("../../clusters", "ai-dev")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range WatcherNeeds(env, "costgate") {
		fmt.Fprintf(&b, "%s:\n", n.Command)
		for _, r := range n.Requests {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	golden.Assert(t, "testdata/watcher/ai-dev-needs.golden", b.String())
}

// Every patch and delete the watcher needs names its object, it creates only
// events and its lease, updates only its lease, and asks nothing cluster-wide.
func TestWatcherNeedsNameEveryWrite(t *testing.T) {
	for _, name := range []string{"ai-dev", "sandbox"} {
		env, err := platform.Load("../../clusters", name)
		if err != nil {
			t.Fatal(err)
		}
		needs := WatcherNeeds(env, "costgate")
		if len(needs) < 3 {
			t.Fatalf("%s: %d needs, want one per namespace", name, len(needs))
		}
		if want := "costgate watch (in " + env.Config.Namespace + ")"; needs[0].Command != want {
			t.Errorf("%s: first need %q, want %q", name, needs[0].Command, want)
		}
		for _, n := range needs {
			for _, r := range n.Requests {
				if r.Namespace == "" {
					t.Errorf("%s: %s is cluster-wide", name, r)
				}
				named := r.ResourceName != ""
				switch {
				case r.Verb == "patch" || r.Verb == "delete":
					if !named {
						t.Errorf("%s: %s names no object", name, r)
					}
				case r.Verb == "update" && r.Resource != "leases":
					t.Errorf("%s: %s: the watcher updates only its lease", name, r)
				case r.Verb == "create" && r.Resource != "events" && r.Resource != "leases":
					t.Errorf("%s: %s: the watcher creates only events and its lease", name, r)
				}
			}
		}
	}
}
