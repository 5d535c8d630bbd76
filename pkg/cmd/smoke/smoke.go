package smoke

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/access"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke"
)

// common is what every verb shares: the factory's streams, flags and clients.
type common struct{ *cli.Factory }

// NewCmd returns the root of `kubectl smoke`.
func NewCmd(f *cli.Factory) *cobra.Command {
	f.AddClients = kube.AddTypedClients // access reviews, Secrets, nodes, port-forwards
	root := f.NewRoot(
		"Check the cluster and the platform profile, and probe the chat API",
		`kubectl smoke doctor checks the cluster, Argo CD and the deployed profile; kubectl smoke chat
sends an authenticated OpenAI-style POST /v1/chat/completions and expects a real answer;
kubectl smoke run does both. The exit code is 0 only when every check passes.`,
		`  # Is the cluster ready for the serving profile?
  kubectl smoke doctor --profile serving --env ai-dev

  # Ask the GPU model through a port-forward the plugin opens itself
  kubectl smoke chat raw-vllm --env ai-dev

  # Ask the gateway instead, with a key from the environment
  kubectl smoke chat --url https://litellm.example.com --key-env LITELLM_API_KEY

  # The staged bring-up's smoke gate, with a JUnit report for CI
  kubectl smoke run --profile serving --env ai-dev --junit smoke.xml`)
	c := &common{f}
	// doctor checks what it can through Argo CD's API; chat needs a port-forward.
	root.AddCommand(cli.Modes(newCmdDoctor(c), cli.ModeServer), newCmdChat(c), newCmdRun(c))
	return root
}

// doctor builds the doctor for an environment and optional profile.
func (c *common) doctor(env *platform.Env, profile string) (*smoke.Doctor, error) {
	d := &smoke.Doctor{Env: env, ReconcileWindow: 10 * time.Minute}
	scope := platform.Profile{Layers: env.LayerNames()}
	if profile != "" {
		p, err := env.Profile(profile)
		if err != nil {
			return nil, err
		}
		d.Profile, scope = &p, p
	}
	d.Needs, d.GatePolicies = Needs(env, scope), gatePolicies(env, scope)
	d.Now = c.Now
	if argo, ok, err := c.ArgoREST(); ok || err != nil {
		d.Argo = argo
		return d, err
	}
	client, err := c.Client()
	if err != nil {
		return nil, err
	}
	d.Client = client
	if env.Spoke() { // a hub's Argo CD deploys it: its workloads are on a cluster of their own
		if d.Workloads, err = c.WorkloadClient(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// summary counts statuses.
func summary(checks []smoke.Check) (failed int) {
	for _, c := range checks {
		if c.Status == smoke.Fail {
			failed++
		}
	}
	return failed
}

// Needs is what the profile and costgate verbs send for env's apps in scope:
// what doctor's rbac check asks, declared by those verbs' own packages.
func Needs(env *platform.Env, scope platform.Profile) []access.Need {
	needs := append(profile.Needs(env.Config.Namespace), costgate.Needs(env.Config.Namespace, costgate.Configured(env), costgate.GatedIn(env, scope))...)
	return append(needs, costgate.CloseNeeds(env, costgate.GatedIn(env, scope))...)
}

// gatePolicies is what each gate's verbs need of Argo CD's RBAC, as costgate
// declares it.
func gatePolicies(env *platform.Env, scope platform.Profile) map[string][]string {
	out := map[string][]string{}
	for _, a := range costgate.GatedIn(env, scope) {
		out[a.Name] = append(costgate.ArgoPolicies(env.Descriptor.Project, env.Config.Namespace, a), costgate.ArgoClosePolicies(env, a)...)
	}
	return out
}
