package costgate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/internal/rbactest"
	"github.com/aidev-platform/kubectl-plugins/pkg/access"
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

// The costgate-watcher each tree ships (its Application's folder, rendered as
// Argo CD deploys it) grants its ServiceAccount every request WatcherNeeds
// declares and nothing no need asks for: no wildcard, no verb or name beyond
// them. Its Deployment runs as that ServiceAccount against the Argo CD
// namespace of the config, with its Lease where its Role grants it, and every
// namespace of its Roles exists through exactly one enabled app (two apps
// declaring one Namespace would undo each other's sync; none, and the Role
// cannot be created).
func TestShippedWatcherRBACGrantsExactlyWatcherNeeds(t *testing.T) {
	const fix = "run make watcher-rbac (go run ./hack/watcherrbac) and commit the result"
	for _, name := range []string{"ai-dev", "sandbox"} {
		t.Run(name, func(t *testing.T) {
			env, err := platform.Load("../../clusters", name)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(env.Apps, func(a platform.App) bool { return a.Name == "costgate-watcher" })
			if i < 0 {
				t.Fatal("no Application costgate-watcher in the catalog")
			}
			app := env.Apps[i]
			if !env.AppEnabled(app) || !app.Automated || !app.SelfHeal || app.Gate != nil {
				t.Errorf("%s: costgate-watcher must be on, auto-sync with selfHeal, and no gate", app.File)
			}
			m, err := env.Effective(app)
			if err != nil {
				t.Fatal(err)
			}
			ns, _, _ := unstructured.NestedString(m, "spec", "destination", "namespace")
			var docs []rbactest.Doc
			var deployment *unstructured.Unstructured
			serviceAccount := false
			for _, o := range env.Deployed(app) {
				if d, ok := rbactest.FromObject(t, o.File, o.Object, o.Namespace); ok {
					docs = append(docs, d)
				}
				switch {
				case o.GetKind() == "Deployment" && o.GetName() == "costgate-watcher":
					deployment = o.Unstructured
				case o.GetKind() == "ServiceAccount" && o.GetName() == "costgate-watcher" && o.Namespace == ns:
					serviceAccount = true
				}
			}
			if !serviceAccount || deployment == nil {
				t.Fatalf("costgate-watcher deploys no ServiceAccount or Deployment costgate-watcher in %s", ns)
			}
			sa, _, _ := unstructured.NestedString(deployment.Object, "spec", "template", "spec", "serviceAccountName")
			containers := platform.Containers(deployment)
			if sa != "costgate-watcher" || len(containers) != 1 || containers[0]["name"] != "watcher" {
				t.Errorf("the Deployment runs as %q with %d containers, want ServiceAccount costgate-watcher and one container watcher", sa, len(containers))
			} else {
				args, _, _ := unstructured.NestedStringSlice(containers[0], "args")
				for _, want := range []string{"watch", "--argocd-namespace=" + env.Config.Namespace, "--leader-elect", "--leader-election-namespace=" + ns} {
					if !slices.Contains(args, want) {
						t.Errorf("the watcher's args %q lack %s", args, want)
					}
				}
			}

			needs := WatcherNeeds(env, ns)
			subject := rbactest.Subject{Kind: "ServiceAccount", Name: "costgate-watcher", Namespace: ns}
			asked := map[access.Request]bool{}
			for _, n := range needs {
				var missing []access.Request
				for _, r := range n.Requests {
					asked[r] = true
					if !rbactest.Allows(docs, subject, r) {
						missing = append(missing, r)
					}
				}
				if len(missing) > 0 {
					t.Errorf("the shipped roles do not let the watcher run %s: %s; %s", n.Command, access.Describe(missing), fix)
				}
			}
			var extra []access.Request
			for _, g := range rbactest.Grants(docs, subject) {
				if !asked[g] {
					extra = append(extra, g)
				}
			}
			if len(extra) > 0 {
				t.Errorf("the shipped roles grant the watcher what WatcherNeeds does not ask: %s; %s", access.Describe(extra), fix)
			}
			if len(asked) < 20 {
				t.Errorf("checked %d requests: too few to mean anything", len(asked))
			}

			declared := map[string][]string{}
			for _, a := range env.Apps {
				if !env.AppEnabled(a) {
					continue
				}
				for _, o := range env.Deployed(a) {
					if o.GetKind() == "Namespace" {
						declared[o.GetName()] = append(declared[o.GetName()], a.Name)
					}
				}
			}
			for _, d := range docs {
				if d.Kind != "Role" || d.Metadata.Namespace == env.Config.Namespace {
					continue
				}
				if apps := declared[d.Metadata.Namespace]; len(apps) != 1 {
					t.Errorf("the watcher's Role in %s needs its Namespace declared by exactly one enabled app, not %q; %s", d.Metadata.Namespace, apps, fix)
				}
			}
		})
	}
}

// The sandbox's costgate-watcher is ai-dev's: the same Deployment, Service,
// monitoring and dashboard; only its generated roles and its kustomization's
// comment differ.
func TestSandboxWatcherIsAiDevs(t *testing.T) {
	aiDev, sandbox := "../../clusters/ai-dev/workloads/platform/costgate-watcher", "../../clusters/sandbox/workloads/costgate-watcher"
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "deployment.yaml", "service.yaml", "servicemonitor.yaml", "prometheusrule.yaml", "dashboards/costgate.json"} {
		a, err := os.ReadFile(filepath.Join(aiDev, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(sandbox, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between ai-dev and the sandbox: copy ai-dev's (cp %s %s)", f, filepath.Join(aiDev, f), filepath.Join(sandbox, f))
		}
	}
}
