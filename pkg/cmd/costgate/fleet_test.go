package costgate_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// fleet is a clusters folder with two environments, sandbox and edge (a copy
// of the sandbox), each on its own context, and a harness whose sandbox
// cluster holds every gate state and whose edge cluster is edge.
func fleet(t *testing.T, edge *kubetest.Fake) (*clitest.Harness, string) {
	t.Helper()
	h := clitest.New(t, "kubectl-costgate", everyState(t)...)
	dir := h.Fleet("sandbox", "edge")
	h.Clusters = map[string]*kubetest.Fake{"edge": edge}
	return h, dir
}

// One table over both environments, each read on its own cluster, with each
// one's open cost and the fleet's; -o json holds the same.
func TestListAllEnvs(t *testing.T) {
	edge := kubetest.NewClient(application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 1, 1, nil))
	for _, output := range []string{"", "json"} {
		h, dir := fleet(t, edge)
		args := []string{"list", "--all-envs", "--dir", dir}
		if output != "" {
			args = append(args, "-o", output)
		}
		r := h.Run(costgate.NewCmd, args...)
		golden(t, "list/all-envs-"+strings.TrimPrefix(output+"-table", "-"), h, r)
		if r.Code != 0 {
			t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
		}
		if output == "json" {
			var f costgate.FleetGates
			if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
				t.Fatal(err)
			}
			if len(f.Envs) != 2 || f.Envs[0].Env != "edge" || f.Envs[0].Context != "edge" || f.Envs[1].Context != "sandbox" {
				t.Fatalf("envs %+v: want edge then sandbox, each from its own context", f.Envs)
			}
			if sum := f.Envs[0].OpenCostPerHour + f.Envs[1].OpenCostPerHour; f.OpenCostPerHour != sum || f.Envs[0].OpenCostPerHour != 0.8 {
				t.Errorf("fleet cost %.2f, edge %.2f: want edge's raw-vllm at 0.80 and the sum", f.OpenCostPerHour, f.Envs[0].OpenCostPerHour)
			}
		}
	}
}

// An environment whose cluster refuses, or does not answer within
// --env-timeout, is a row that says why: the other's rows are whole, exit 1.
func TestListAllEnvsWithAnEnvironmentUnreachable(t *testing.T) {
	refused := kubetest.NewClient()
	refused.Dynamic.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New(`Get "https://edge.example.com/apis/argoproj.io/v1alpha1/namespaces/argocd/applications": dial tcp 10.9.9.9:443: connect: connection refused`)
	})
	hung := kubetest.NewClient()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hung.Dynamic.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-release // a cluster that never answers, and a client that ignores its context
		return true, nil, errors.New("released")
	})
	for name, edge := range map[string]*kubetest.Fake{"refused": refused, "hung": hung} {
		t.Run(name, func(t *testing.T) {
			h, dir := fleet(t, edge)
			r := h.Run(costgate.NewCmd, "list", "--all-envs", "--dir", dir, "--env-timeout", "2s")
			golden(t, "list/all-envs-"+name, h, r)
			if r.Code != 1 || !strings.Contains(r.Stderr, "1 of 2 environment(s) could not be read: edge") {
				t.Errorf("exit %d, want 1 naming edge\n%s", r.Code, r.Stderr)
			}
			if !regexp.MustCompile(`(?m)^sandbox +raw-vllm +scale +up `).MatchString(r.Stdout) || !strings.Contains(r.Stdout, "(without edge: not read)") {
				t.Errorf("sandbox's rows or the fleet line are missing:\n%s", r.Stdout)
			}
		})
	}
}

func TestListAllEnvsBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"with-env":     {"--env", "sandbox"},
		"with-context": {"--context", "edge"},
		"parallelism":  {"--env-parallelism", "0"},
	} {
		h, dir := fleet(t, kubetest.NewClient())
		r := h.Run(costgate.NewCmd, append([]string{"list", "--all-envs", "--dir", dir}, args...)...)
		golden(t, "list/all-envs-bad-"+name, h, r)
		if r.Code != 1 || len(h.Contexts) != 0 {
			t.Errorf("exit %d, contexts %v: want 1 before any client", r.Code, h.Contexts)
		}
	}
}

// down --all --all-envs closes the open gates of every environment, each on
// its own cluster, each line led by its environment; one environment's
// failure does not stop the other's closes, and exits 1 naming it.
func TestDownAllEnvs(t *testing.T) {
	edge := kubetest.NewClient(application(t, "raw-vllm", "Synced", "Healthy"), deployment("serving", "raw-vllm", 1, 1, nil))
	h, dir := fleet(t, edge)
	authorize(h)
	authorizeOn(edge)
	r := h.Run(costgate.NewCmd, "down", "--all", "--all-envs", "--dir", dir, "--wait=false")
	clitest.Golden(t, "down/all-envs", clitest.Normalize(r.String()+"--- sandbox writes\n"+writes(h)+"--- edge writes\n"+edge.WriteLines(), clitest.Clusters(t), "<clusters>"))
	if r.Code != 0 || !strings.Contains(r.Stdout, "edge: raw-vllm: Deployment/serving/raw-vllm 1 -> 0") || !strings.Contains(r.Stdout, "sandbox: raw-vllm: Deployment/serving/raw-vllm 1 -> 0") {
		t.Errorf("exit %d: want both raw-vllm gates down, each led by its environment\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if edge.WriteLines() == "" {
		t.Error("nothing was written to edge's cluster")
	}

	refused := kubetest.NewClient()
	refused.Dynamic.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.9.9.9:443: connect: connection refused")
	})
	h, dir = fleet(t, refused)
	authorize(h)
	r = h.Run(costgate.NewCmd, "down", "--all", "--all-envs", "--dir", dir, "--wait=false")
	if r.Code != 1 || !strings.Contains(r.Stderr, "1 of 2 environment(s) where down --all failed: edge") || !strings.Contains(r.Stdout, "sandbox: raw-vllm: Deployment/serving/raw-vllm 1 -> 0") {
		t.Errorf("exit %d: want sandbox closed and edge named\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = h.Run(costgate.NewCmd, "down", "raw-vllm", "--all-envs", "--dir", dir)
	if r.Code != 1 || !strings.Contains(r.Stderr, "--all-envs closes every open gate of every environment: add --all") {
		t.Errorf("down APP --all-envs: exit %d\n%s", r.Code, r.Stderr)
	}
}

// idle --all-envs -o json: each environment's decisions under its name, from
// its own cluster; a dry run writes to neither.
func TestIdleAllEnvsJSON(t *testing.T) {
	prometheus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[0,"3"]}]}}`)
	}))
	t.Cleanup(prometheus.Close)
	edge := kubetest.NewClient(application(t, "raw-vllm", "Synced", "Healthy", annotated(pcostgate.ExpiresAtAnnotation, "2026-11-26T11:00:00Z")),
		deployment("serving", "raw-vllm", 1, 1, nil))
	h, dir := fleet(t, edge)
	r := h.Run(costgate.NewCmd, "idle", "--all-envs", "--dir", dir, "--dry-run", "--prometheus-url", prometheus.URL, "-o", "json")
	if r.Code != 0 {
		t.Fatalf("exit %d\n%s", r.Code, r.Stderr)
	}
	var envs []costgate.EnvOutput
	if err := json.Unmarshal([]byte(r.Stdout), &envs); err != nil {
		t.Fatal(err)
	}
	if len(envs) != 2 || envs[0].Env != "edge" || envs[1].Env != "sandbox" {
		t.Fatalf("%s: want edge then sandbox", r.Stdout)
	}
	var edgeDecisions []pcostgate.IdleDecision
	if err := json.Unmarshal(envs[0].Result, &edgeDecisions); err != nil {
		t.Fatal(err)
	}
	if len(edgeDecisions) != 1 || edgeDecisions[0].App != "raw-vllm" || !edgeDecisions[0].Idle || !strings.Contains(edgeDecisions[0].Reason, "lease") {
		t.Errorf("edge's decisions %+v: want raw-vllm idle by its lease", edgeDecisions)
	}
	if w := writes(h) + edge.WriteLines(); w != "" {
		t.Errorf("a dry run wrote:\n%s", w)
	}
}
