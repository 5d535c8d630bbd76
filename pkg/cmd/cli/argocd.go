package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/connection"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// The CLI a plugin binary serves: kubectl runs kubectl-<name>, argocd (v3)
// runs argocd-<name>. One binary is both, installed under both names.
const (
	HostKubectl = "kubectl"
	HostArgoCD  = "argocd"
)

// InvokedAs is the plugin's binary name as the process was started (argv[0]):
// argocd-<name> when run under that name, else the canonical kubectl-<name>.
func InvokedAs(argv0, plugin string) string {
	name := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if name == HostArgoCD+"-"+strings.TrimPrefix(plugin, HostKubectl+"-") {
		return name
	}
	return plugin
}

// Host is the CLI the factory's plugin serves: kubectl or argocd.
func (f *Factory) Host() string {
	if strings.HasPrefix(f.Plugin, HostArgoCD+"-") {
		return HostArgoCD
	}
	return HostKubectl
}

// Name is the plugin's name without its host: profile, costgate or smoke.
func (f *Factory) Name() string { return f.Plugin[strings.Index(f.Plugin, "-")+1:] }

// Display is how the user runs the plugin: "kubectl profile", "argocd costgate".
func (f *Factory) Display() string { return f.Host() + " " + f.Name() }

// ArgoCDFlags say how to reach Argo CD's API (server mode), as the argocd CLI's
// global flags do. Under argocd they carry argocd's names (--server is Argo
// CD's, kubectl's API server flag becomes --kube-server); under kubectl, where
// --server is the API server's, the address is --argocd-server.
type ArgoCDFlags struct {
	Server          string
	AuthToken       string
	GRPCWeb         bool
	GRPCWebRootPath string
	PlainText       bool
	Insecure        bool
	// Core: use the Kubernetes API (argocd --core); argocd-<name> only.
	Core bool
	// Context is the argocd CLI config's context; ConfigPath its file.
	Context    string
	ConfigPath string

	host string
}

// AddFlags registers the flags for the host's conventions.
func (a *ArgoCDFlags) AddFlags(fs *pflag.FlagSet, host string) {
	a.host = host
	server := "argocd-server"
	if host == HostArgoCD {
		server = "server"
		fs.BoolVar(&a.Core, "core", false, "Use the Kubernetes API instead of Argo CD's (like argocd --core): needs a kubeconfig")
		fs.StringVar(&a.Context, "argocd-context", "", "The argocd CLI config's context to use (default: its current context)")
		fs.StringVar(&a.ConfigPath, "config", "", "The argocd CLI config file (default $ARGOCD_CONFIG_DIR/config or ~/.config/argocd/config)")
	}
	fs.StringVar(&a.Server, server, "", "Argo CD server address (default $ARGOCD_SERVER, else the argocd CLI config's current context)")
	fs.StringVar(&a.AuthToken, "auth-token", "", "Argo CD token (default $ARGOCD_AUTH_TOKEN, else the argocd CLI config's)")
	fs.BoolVar(&a.GRPCWeb, "grpc-web", false, "Talk to Argo CD with gRPC-web, for servers behind proxies without HTTP/2")
	fs.StringVar(&a.GRPCWebRootPath, "grpc-web-root-path", "", "gRPC-web root path, for Argo CD served under a path (implies --grpc-web)")
	fs.BoolVar(&a.PlainText, "plaintext", false, "Talk to the Argo CD server without TLS")
	fs.BoolVar(&a.Insecure, "insecure", false, "Skip the Argo CD server's TLS certificate check")
}

// ServerMode says whether commands go through Argo CD's API: under argocd
// unless --core; under kubectl only when --argocd-server is given (an exported
// ARGOCD_SERVER, as argocd CLI users have it, does not move kubectl off the
// Kubernetes API). Every verb of an invocation asks this one question.
func (a *ArgoCDFlags) ServerMode() bool {
	if a.host == HostArgoCD {
		return !a.Core
	}
	return a.Server != ""
}

// ServerFlag is the flag that names the Argo CD server in the running CLI.
func (a *ArgoCDFlags) ServerFlag() string {
	if a.host == HostArgoCD {
		return "--server"
	}
	return "--argocd-server"
}

// CoreHint says how to leave server mode in the running CLI.
func (a *ArgoCDFlags) CoreHint() string {
	if a.host == HostArgoCD {
		return "add --core"
	}
	return "drop --argocd-server"
}

// Modes of a command, for argocd's server mode: ModeOffline needs no cluster,
// ModeServer works through Argo CD's API. A command without the annotation
// needs the Kubernetes API (--core under argocd).
const (
	ModesAnnotation = "aidev.io/modes"
	ModeOffline     = "offline"
	ModeServer      = "server"
)

// Modes marks a command with the modes it works in.
func Modes(cmd *cobra.Command, modes ...string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[ModesAnnotation] = strings.Join(modes, ",")
	return cmd
}

// checkMode refuses, before anything runs, a command that needs the
// Kubernetes API when the plugin runs in server mode, and says at -v=1 which
// mode the command runs in.
func (f *Factory) checkMode(cmd *cobra.Command) error {
	modes := strings.Split(cmd.Annotations[ModesAnnotation], ",")
	builtin := cmd.Name() == "help" || cmd.Name() == "completion" || strings.HasPrefix(cmd.Name(), "__")
	if slices.Contains(modes, ModeOffline) || !cmd.Runnable() || builtin || (cmd.Parent() != nil && cmd.Parent().Name() == "completion") {
		return nil
	}
	if !f.ArgoCD.ServerMode() {
		klog.V(1).Infof("%s runs in core mode: the Kubernetes API (kubeconfig context %q)", cmd.CommandPath(), printers.Dash(*f.KubeFlags.Context))
		return nil
	}
	if slices.Contains(modes, ModeServer) {
		klog.V(1).Infof("%s runs in server mode: Argo CD's API at %s", cmd.CommandPath(), printers.Dash(f.ArgoCD.settings().WithEnv(f.Getenv).Server))
		return nil
	}
	kube := "--kubeconfig, --context, --server"
	if f.Host() == HostArgoCD {
		kube = "--kubeconfig, --context, --kube-server"
	}
	return fmt.Errorf("`%s` does not work through the Argo CD API yet: %s to run it against the Kubernetes API "+
		"(it then needs Kubernetes credentials: %s)", cmd.CommandPath(), f.ArgoCD.CoreHint(), kube)
}

// argocdOpts are the flags of ARGOCD_OPTS the root knows and the command line
// does not set: the command line wins, and argocd's own flags (--loglevel)
// are not ours to parse.
func argocdOpts(root *cobra.Command, opts string, args []string) []string {
	fields := strings.Fields(opts)
	var out []string
	for i := 0; i < len(fields); i++ {
		tok := fields[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		flag := root.PersistentFlags().Lookup(name)
		takesValue := flag != nil && flag.NoOptDefVal == ""
		if takesValue && !hasValue && i+1 < len(fields) {
			i++
			value, hasValue = fields[i], true
		}
		if flag == nil || !strings.HasPrefix(tok, "--") || setOnCommandLine(args, name) {
			continue
		}
		if hasValue {
			out = append(out, "--"+name+"="+value)
		} else {
			out = append(out, "--"+name)
		}
	}
	return out
}

func setOnCommandLine(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}

// forArgoCD rewrites the help of every command, and errors, for argocd: the
// plugins' own names become `argocd <name>`.
var kubectlPlugins = strings.NewReplacer("kubectl profile", "argocd profile", "kubectl costgate", "argocd costgate", "kubectl smoke", "argocd smoke")

func forArgoCD(cmd *cobra.Command) {
	cmd.Short = kubectlPlugins.Replace(cmd.Short)
	cmd.Long = kubectlPlugins.Replace(cmd.Long)
	cmd.Example = kubectlPlugins.Replace(cmd.Example)
	for _, c := range cmd.Commands() {
		forArgoCD(c)
	}
}

// RequestTimeout is kubectl's --request-timeout, read as client-go reads it
// (a bare number is seconds), which bounds the Argo CD clients' calls too (0:
// their own default).
func (f *Factory) RequestTimeout() (time.Duration, error) {
	if f.KubeFlags.Timeout == nil || *f.KubeFlags.Timeout == "" {
		return 0, nil
	}
	d, err := clientcmd.ParseTimeout(*f.KubeFlags.Timeout)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--request-timeout %q: want a duration such as 30s", *f.KubeFlags.Timeout)
	}
	return d, nil
}

// settings are the flags as Argo CD connection settings.
func (a *ArgoCDFlags) settings() connection.Settings {
	return connection.Settings{
		Server: a.Server, AuthToken: a.AuthToken, GRPCWeb: a.GRPCWeb, GRPCWebRootPath: a.GRPCWebRootPath,
		PlainText: a.PlainText, Insecure: a.Insecure, Context: a.Context, ConfigPath: a.ConfigPath, ServerFlag: a.ServerFlag(),
	}
}

// ArgoSettings say how to reach Argo CD's API in server mode: the flags and
// --request-timeout (ARGOCD_* and the argocd CLI config fill the rest when a
// client resolves them). Both Argo CD clients are made from them.
func (f *Factory) ArgoSettings() (connection.Settings, error) {
	timeout, err := f.RequestTimeout()
	s := f.ArgoCD.settings()
	s.RequestTimeout, s.UserAgent = timeout, UserAgent(f.Plugin)
	if err == nil {
		err = f.checkArgoCDServer(&s)
	}
	return s, err
}

// checkArgoCDServer applies the environment's cluster.argocdServer: the
// server when neither the flags nor ARGOCD_SERVER name one, and another one
// refused for a writing verb (a warning for the others), as checkCluster does
// for the Kubernetes API.
func (f *Factory) checkArgoCDServer(s *connection.Settings) error {
	env := f.clusterEnv()
	if env == nil || env.Descriptor.Cluster == nil || env.Descriptor.Cluster.ArgoCDServer == "" {
		return nil
	}
	want := env.Descriptor.Cluster.ArgoCDServer
	got := s.WithEnv(f.Getenv).Server
	if got == "" {
		s.Server = want
		return nil
	}
	if strings.TrimSuffix(strings.ToLower(got), "/") == strings.TrimSuffix(strings.ToLower(want), "/") {
		return nil
	}
	msg := fmt.Sprintf("environment %s is deployed by the Argo CD at %s (platform.yaml cluster.argocdServer), this command talks to %s", env.Name, want, got)
	if f.writing {
		return fmt.Errorf("%s: nothing was written; pass %s %s", msg, f.ArgoCD.ServerFlag(), want)
	}
	f.warnOnce("argocd-server", msg+": reading it anyway")
	return nil
}

// ArgoREST is Argo CD's HTTP API when the plugin runs in server mode (ok
// false otherwise): what profile and smoke use there, without the argo-cd
// module.
func (f *Factory) ArgoREST() (*rest.Client, bool, error) {
	if !f.ArgoCD.ServerMode() {
		return nil, false, nil
	}
	s, err := f.ArgoSettings()
	if err != nil {
		return nil, true, err
	}
	c, err := rest.New(s, f.Getenv)
	return c, true, err
}
