package cli

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/version"
)

// Factory is what every verb gets its streams, flags, clients and clock from,
// like kubectl's cmdutil.Factory. The roots build one from the process; tests
// build one over fakes (clitest.NewFactory) and run the same commands.
type Factory struct {
	genericiooptions.IOStreams
	// Plugin is the binary's name as invoked: kubectl-<name>, or argocd-<name>
	// when argocd runs it (see Host).
	Plugin    string
	KubeFlags *genericclioptions.ConfigFlags
	// ArgoCD is how to reach Argo CD's API (server mode).
	ArgoCD   *ArgoCDFlags
	EnvFlags *EnvFlags
	// Now is the clock: "up for", opened-at, degraded grace.
	Now func() time.Time
	// NewClient builds the cluster client; it runs once, on first use, so a verb
	// that needs no cluster never reads a kubeconfig.
	NewClient func() (*kube.Client, error)
	// BuildClient builds a client from kubeconfig flags: what NewClient does
	// with the factory's, and what a fleet view's environments and a spoke's
	// workloads are reached with, each with flags of their own.
	BuildClient func(*genericclioptions.ConfigFlags) (*kube.Client, error)
	// AddClients completes a client built by NewClient with what the plugin
	// needs beyond the dynamic client (kube.AddTypedClients); nil for none.
	AddClients func(*kube.Client) error
	// Getenv reads the environment (keys for --key-env, ARGOCD_* settings).
	Getenv func(string) string
	// Forward opens a port-forward to a Service; nil means through the API
	// server (client-go). Tests point it at a local server.
	Forward func(ctx context.Context, c *kube.Client, namespace, service string, port int32) (*kube.Forward, error)

	client    *kube.Client
	clientErr error
	// writing: the running verb changes the cluster (Writes).
	writing bool
	// loadedEnv is the environment the verb loaded, whose cluster: block
	// picks and checks the clients (see clusterEnv).
	loadedEnv     *platform.Env
	triedEnv      bool
	warnedCluster map[string]bool
	// workloads is the spoke's client (WorkloadClient).
	workloads    *kube.Client
	workloadsErr error
}

// NewFactory is the factory of a real process: kubectl's flags, the wall clock,
// a client built from the flags with the plugin's user agent.
func NewFactory(plugin string, streams genericiooptions.IOStreams) *Factory {
	f := &Factory{
		IOStreams: streams,
		Plugin:    plugin,
		KubeFlags: genericclioptions.NewConfigFlags(true),
		ArgoCD:    &ArgoCDFlags{host: HostKubectl},
		EnvFlags:  &EnvFlags{},
		Now:       time.Now,
		Getenv:    os.Getenv,
	}
	f.BuildClient = func(flags *genericclioptions.ConfigFlags) (*kube.Client, error) {
		c, err := kube.NewClient(flags, UserAgent(plugin))
		if err != nil || f.AddClients == nil {
			return c, err
		}
		return c, f.AddClients(c)
	}
	f.NewClient = func() (*kube.Client, error) { return f.BuildClient(f.KubeFlags) }
	return f
}

// UserAgent is what the plugin tells the API server it is, stamped with the build's version.
func UserAgent(plugin string) string {
	return fmt.Sprintf("%s/%s (%s/%s) %s", plugin, version.Version, goruntime.GOOS, goruntime.GOARCH, shortCommit())
}

func shortCommit() string {
	if len(version.Commit) > 7 {
		return version.Commit[:7]
	}
	return version.Commit
}

// AddFlags registers kubectl's standard flags and --env/--dir on a root command
// and, under argocd, argocd's connection flags (kubectl's --server is then
// --kube-server: --server is Argo CD's, as in every argocd command).
func (f *Factory) AddFlags(root *cobra.Command) {
	fs := root.PersistentFlags()
	if f.Host() == HostArgoCD {
		f.KubeFlags.APIServer = nil
		f.KubeFlags.AddFlags(fs)
		f.KubeFlags.APIServer = new(string)
		fs.StringVar(f.KubeFlags.APIServer, "kube-server", "", "The address and port of the Kubernetes API server (with --core)")
		f.ArgoCD.AddFlags(fs, HostArgoCD)
	} else {
		f.KubeFlags.AddFlags(fs)
	}
	f.EnvFlags.AddFlags(fs)
	f.EnvFlags.RegisterEnvCompletion(root)
}

// Env loads the environment --env/--dir select.
func (f *Factory) Env() (*platform.Env, error) { return f.withHost(f.EnvFlags.Load()) }

// LayoutEnv is the environment without its catalog, for the verbs whose result
// does not depend on it (see platform.LoadLayout).
func (f *Factory) LayoutEnv() (*platform.Env, error) { return f.withHost(f.EnvFlags.LoadLayout()) }

// withHost tells the environment which CLI runs, so that what the domain
// packages print names its commands.
func (f *Factory) withHost(env *platform.Env, err error) (*platform.Env, error) {
	if env != nil {
		env.Host = platform.Host(f.Host())
	}
	if err == nil && env != nil {
		f.loadedEnv = env
	}
	return env, err
}

// Cmd names a plugin as the user runs it here: "kubectl costgate", or
// "argocd costgate" under argocd.
func (f *Factory) Cmd(plugin string) string { return platform.Host(f.Host()).Cmd(plugin) }

// Client returns the client of the cluster whose Argo CD holds the
// environment's Applications, built on first use: the environment's context
// (its hub's when a hub deploys it) unless --context or --server says
// otherwise, checked against the environment's server before any request.
func (f *Factory) Client() (*kube.Client, error) {
	if f.client == nil && f.clientErr == nil {
		env := f.clusterEnv()
		var target platform.ClusterTarget
		known := false
		if env != nil {
			target, known = env.ArgoCDCluster()
		}
		if known {
			selectContext(f.KubeFlags, target)
		}
		f.client, f.clientErr = f.NewClient()
		if known {
			f.clientErr = explainContext(f.clientErr, env, target, f.KubeFlags)
			if f.clientErr == nil {
				f.clientErr = f.checkCluster(env, f.client, f.KubeFlags, target)
			}
			if f.clientErr != nil {
				f.client = nil
			}
		}
	}
	return f.client, f.clientErr
}

// WorkloadClient is the client of the cluster the environment's workloads run
// on: Client, unless a hub's Argo CD deploys the environment to a cluster of
// its own (cluster.hub), whose context (cluster.context) it then uses,
// checked against its server like Client. --context names the hub's.
func (f *Factory) WorkloadClient() (*kube.Client, error) {
	env := f.clusterEnv()
	if env == nil || !env.Spoke() {
		return f.Client()
	}
	if f.workloads == nil && f.workloadsErr == nil {
		target, _ := env.WorkloadCluster()
		if target.Context == "" {
			f.workloadsErr = fmt.Errorf("environment %s runs on another cluster than its Argo CD (cluster.hub in %s): its workloads are reached through cluster.context, which it does not name",
				env.Name, env.DescriptorPath())
			return nil, f.workloadsErr
		}
		flags := CopyKubeconfig(f.KubeFlags, target.Context)
		f.workloads, f.workloadsErr = f.BuildClient(flags)
		f.workloadsErr = explainContext(f.workloadsErr, env, target, flags)
		if f.workloadsErr == nil {
			f.workloadsErr = f.checkCluster(env, f.workloads, flags, target)
		}
		if f.workloadsErr != nil {
			f.workloads = nil
		}
	}
	return f.workloads, f.workloadsErr
}

// Connect returns the client once the cluster has answered and shown that it runs
// Argo CD in namespace: every verb that talks to the cluster starts with it.
func (f *Factory) Connect(ctx context.Context, namespace string) (*kube.Client, error) {
	c, err := f.Client()
	if err != nil {
		return nil, err
	}
	if err := c.Preflight(ctx, namespace); err != nil {
		return nil, err
	}
	return c, nil
}
