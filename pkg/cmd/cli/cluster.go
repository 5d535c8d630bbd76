package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// WritesAnnotation marks the verbs that change a cluster: on a cluster that is
// not the environment's they are refused before any request; the others warn.
const WritesAnnotation = "aidev.io/writes"

// Writes marks a command as one that changes the cluster.
func Writes(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[WritesAnnotation] = "true"
	return cmd
}

// clusterEnv is the environment whose cluster: block picks and checks the
// clients: the one the verb loaded, else the one --env/--dir name (read once,
// without its catalog; a load error is the verb's to report).
func (f *Factory) clusterEnv() *platform.Env {
	if f.loadedEnv == nil && !f.triedEnv {
		f.triedEnv = true
		if env, err := f.EnvFlags.LoadLayout(); err == nil {
			f.loadedEnv = env
		}
	}
	return f.loadedEnv
}

// selectContext points flags at the target's context when the command line
// names no context nor server: the environment's cluster by default.
func selectContext(flags *genericclioptions.ConfigFlags, target platform.ClusterTarget) {
	if target.Context == "" || (flags.Context != nil && *flags.Context != "") || (flags.APIServer != nil && *flags.APIServer != "") {
		return
	}
	if flags.Context == nil {
		flags.Context = new(string)
	}
	*flags.Context = target.Context
}

// expectedServer is the API server the target must have: its server:, else
// its context's server in the kubeconfig ("" when neither is known).
func expectedServer(flags *genericclioptions.ConfigFlags, target platform.ClusterTarget) string {
	if target.Server != "" {
		return target.Server
	}
	if target.Context == "" {
		return ""
	}
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	if ctx, ok := raw.Contexts[target.Context]; ok {
		if cluster, ok := raw.Clusters[ctx.Cluster]; ok {
			return cluster.Server
		}
	}
	return ""
}

// checkCluster compares the cluster a client acts on with the environment's:
// the same server passes; another is refused for a writing verb, and a
// warning for the others. It sends no request.
func (f *Factory) checkCluster(env *platform.Env, c *kube.Client, flags *genericclioptions.ConfigFlags, target platform.ClusterTarget) error {
	want := expectedServer(flags, target)
	if want == "" || c == nil {
		return nil
	}
	w, err := platform.NormalizeServer(want)
	if err != nil {
		return nil // validated on load when written; a kubeconfig's own is its business
	}
	if got, err := platform.NormalizeServer(c.Server); err == nil && got == w {
		return nil
	}
	what := "environment " + env.Name
	if target.Role == "argocd" && env.Spoke() {
		what += "'s Argo CD (its hub)"
	}
	from := "platform.yaml cluster.server"
	switch {
	case target.Role == "argocd" && env.Spoke() && target.Server != "":
		from = "platform.yaml cluster.hub.server"
	case target.Server == "":
		from = "its context " + target.Context
	}
	current := "the current context " + printers.Dash(c.Context)
	msg := fmt.Sprintf("%s is %s (%s), %s is %s", what, want, from, current, c.Server)
	fix := "pass the --context of " + want
	if target.Context != "" && target.Context != c.Context {
		fix = "pass --context " + target.Context
	}
	if f.writing {
		return fmt.Errorf("%s: nothing was written; %s", msg, fix)
	}
	f.warnOnce(target.Role, fmt.Sprintf("%s: reading it anyway (%s)", msg, fix))
	return nil
}

// warnOnce says a warning once per invocation and key (a verb builds a
// client more than once).
func (f *Factory) warnOnce(key, msg string) {
	if f.warnedCluster[key] {
		return
	}
	if f.warnedCluster == nil {
		f.warnedCluster = map[string]bool{}
	}
	f.warnedCluster[key] = true
	fmt.Fprintf(f.ErrOut, "warning: %s\n", msg)
}

// explainContext turns a kubeconfig without the environment's context into an
// error that names the field and the fix.
func explainContext(err error, env *platform.Env, target platform.ClusterTarget, flags *genericclioptions.ConfigFlags) error {
	if err == nil || target.Context == "" || flags.Context == nil || *flags.Context != target.Context ||
		!strings.Contains(err.Error(), "context was not found") && !strings.Contains(err.Error(), "does not exist") {
		return err
	}
	field := "cluster.context"
	if target.Role == "argocd" && env.Spoke() {
		field = "cluster.hub.context"
	}
	return fmt.Errorf("environment %s uses the kubeconfig context %s (%s in %s), which the kubeconfig does not have: "+
		"add it (gcloud container clusters get-credentials, or kubectl config set-context) or pass --context: %w",
		env.Name, target.Context, field, env.DescriptorPath(), err)
}
