// Package costgate is `kubectl costgate`: the manual-sync Argo CD applications that
// cost money, opened and closed on demand without Argo CD undoing it.
package costgate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

const plugin = "kubectl-costgate"

// common is what every verb shares.
type common struct {
	genericiooptions.IOStreams
	kubeFlags *genericclioptions.ConfigFlags
	envFlags  *cli.EnvFlags
	server    *serverFlags
}

// NewCmd returns the root of `kubectl costgate`.
func NewCmd(streams genericiooptions.IOStreams) *cobra.Command {
	root := cli.NewRoot(plugin,
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
	c := &common{
		IOStreams: streams,
		kubeFlags: genericclioptions.NewConfigFlags(true),
		envFlags:  &cli.EnvFlags{},
		server:    &serverFlags{},
	}
	c.kubeFlags.AddFlags(root.PersistentFlags())
	c.envFlags.AddFlags(root.PersistentFlags())
	c.server.addFlags(root.PersistentFlags())
	c.envFlags.RegisterEnvCompletion(root)
	root.AddCommand(
		newCmdList(c), newCmdSync(c), newCmdUp(c), newCmdDown(c),
		newCmdPause(c), newCmdResume(c), newCmdIdle(c), newCmdLint(c),
		cli.NewCmdVersion(plugin, streams),
	)
	return root
}

// session is a loaded environment and a cluster connection.
type session struct {
	env    *platform.Env
	client *kube.Client
	gates  *costgate.Gates
}

func (c *common) open(ctx context.Context) (*session, error) {
	env, err := c.envFlags.Load()
	if err != nil {
		return nil, err
	}
	client, err := kube.NewClient(c.kubeFlags)
	if err != nil {
		return nil, err
	}
	if err := client.Preflight(ctx, env.Config.Namespace); err != nil {
		return nil, err
	}
	return &session{env: env, client: client, gates: &costgate.Gates{Client: client, Now: time.Now}}, nil
}

// openApp opens a session and finds a gated app in it.
func (c *common) openApp(ctx context.Context, name string) (*session, platform.App, error) {
	s, err := c.open(ctx)
	if err != nil {
		return nil, platform.App{}, err
	}
	app, err := costgate.Find(s.env, name)
	return s, app, err
}

// syncer picks core mode, or server mode when --argocd-server/ARGOCD_SERVER is given.
func (c *common) syncer(s *session) (argocd.Syncer, string, error) {
	if srv, ok, err := c.server.syncer(); ok || err != nil {
		return srv, "server", err
	}
	return &argocd.Core{Client: s.client, Namespace: s.env.Config.Namespace, Initiator: costgate.FieldManager}, "core", nil
}

func appArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes exactly one APP (see `kubectl costgate list`)", cmd.Name())
	}
	return nil
}
