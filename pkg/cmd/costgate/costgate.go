package costgate

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// common is what every verb shares: the factory, and the server-mode flags.
type common struct {
	*cli.Factory
}

// NewCmd returns the root of `kubectl costgate`.
func NewCmd(f *cli.Factory) *cobra.Command {
	f.AddClients = kube.AddTypedClients // access reviews, Secrets, nodes, port-forwards
	root := f.NewRoot(
		"Open and close the platform's cost-gated Argo CD applications on demand",
		`Some Argo CD applications are manual-sync on purpose because they cost money: GPU model
servers, a CPU InferenceService that forces a second node, demos. kubectl costgate lists
them with their cost, syncs them on demand, scales them up and down (or pauses KServe with
serving.kserve.io/stop) without Argo CD undoing it, closes what sits idle, and lints the
GitOps tree so that no gate can be fought by selfHeal.

Which apps are gated, how, and what an hour costs is read from the catalog's
costgate.aidev.io/* annotations; nothing is hard-coded.`,
		`  # What is gated, what runs, what it costs
  kubectl costgate list --env ai-dev

  # Bring the GPU model up (syncs first if needed) and wait until it serves
  kubectl costgate up raw-vllm --env ai-dev

  # Close it again; the replica count is remembered for the next up
  kubectl costgate down raw-vllm --env ai-dev

  # In CI: no gate can be fought by selfHeal
  kubectl costgate lint --env ai-dev`)
	c := &common{Factory: f}
	if f.Host() == cli.HostKubectl { // under argocd the factory registered argocd's own flags
		f.ArgoCD.AddFlags(root.PersistentFlags(), cli.HostKubectl)
	}
	root.AddCommand(
		// Every verb works through Argo CD's API too (idle then with a
		// --prometheus-url: its Service proxy is the Kubernetes API's).
		// The writing verbs (cli.Writes) are refused on a cluster that is not the
		// environment's; the others warn.
		cli.Modes(newCmdList(c), cli.ModeServer), cli.Writes(cli.Modes(newCmdSync(c), cli.ModeServer)),
		cli.Writes(cli.Modes(newCmdUp(c), cli.ModeServer)), cli.Writes(cli.Modes(newCmdDown(c), cli.ModeServer)),
		cli.Writes(cli.Modes(newCmdPause(c), cli.ModeServer)), cli.Writes(cli.Modes(newCmdResume(c), cli.ModeServer)),
		cli.Writes(cli.Modes(newCmdIdle(c), cli.ModeServer)), newCmdLint(c), cli.Writes(newCmdWatch(c)),
	)
	return root
}

// session is a loaded environment and the gates, reached in the
// invocation's one mode (the backend's).
type session struct {
	env   *platform.Env
	gates *costgate.Gates
	// client is the Kubernetes API in core mode (nil in server mode), for
	// what only it reaches: a Service through the API server's proxy.
	client *kube.Client
}

func (c *common) open(ctx context.Context) (*session, error) {
	env, err := c.Env()
	if err != nil {
		return nil, err
	}
	return c.connect(ctx, env)
}

// connect reaches the gates in the invocation's one mode (cli.ArgoCDFlags.ServerMode):
// every verb, sync included, then goes through that mode alone.
func (c *common) connect(ctx context.Context, env *platform.Env) (*session, error) {
	s := &session{env: env, gates: &costgate.Gates{Namespace: env.Config.Namespace, Host: env.Host, Now: c.Now}}
	if c.ArgoCD.ServerMode() { // Argo CD's API: no Kubernetes credentials are read
		api, err := c.argoCD()
		if err != nil {
			return nil, err
		}
		s.gates.Backend = &costgate.ArgoCDBackend{API: api, Project: env.Descriptor.Project}
		return s, nil
	}
	client, err := c.Connect(ctx, env.Config.Namespace)
	if err != nil {
		return nil, err
	}
	backend := &costgate.KubeBackend{Client: client, Namespace: env.Config.Namespace}
	if env.Spoke() { // a hub's Argo CD deploys it: the targets are on the environment's own cluster
		if backend.Workloads, err = c.WorkloadClient(); err != nil {
			return nil, err
		}
	}
	s.client, s.gates.Backend = client, backend
	return s, nil
}

// openApp finds a gated app, then connects: a name that is not a gate is
// refused before the cluster is asked anything.
func (c *common) openApp(ctx context.Context, name string) (*session, platform.App, error) {
	env, app, err := c.gate(name)
	if err != nil {
		return nil, app, err
	}
	s, err := c.connect(ctx, env)
	return s, app, err
}

// gate finds a gated app in the environment, with no cluster.
func (c *common) gate(name string) (*platform.Env, platform.App, error) {
	env, err := c.Env()
	if err != nil {
		return nil, platform.App{}, err
	}
	app, err := costgate.Find(env, name)
	return env, app, err
}

func appArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes exactly one APP (see `%s list`)", cmd.Name(), cmd.Root().DisplayName())
	}
	return nil
}
