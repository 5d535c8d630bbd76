package cli

import (
	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Envs returns the selected environment, or every environment of the clusters
// folder when none is selected: completion must not fail for want of --env.
func (f *EnvFlags) Envs() []*platform.Env {
	if env, err := f.Load(); err == nil {
		return []*platform.Env{env}
	}
	dir, err := f.ClustersDir()
	if err != nil {
		return nil
	}
	names, _ := platform.EnvNames(dir)
	var out []*platform.Env
	for _, n := range names {
		if env, err := platform.Load(dir, n); err == nil {
			out = append(out, env)
		}
	}
	return out
}

// Completer completes one positional argument from the environments' data.
type Completer func(env *platform.Env) []string

// CompleteFirstArg is a ValidArgsFunction: the first argument from names, nothing after.
func (f *EnvFlags) CompleteFirstArg(names Completer) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f.collect(names), cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteFlag completes a flag's value from the environments' data.
func (f *EnvFlags) CompleteFlag(names Completer) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return f.collect(names), cobra.ShellCompDirectiveNoFileComp
	}
}

func (f *EnvFlags) collect(names Completer) []string {
	seen := map[string]bool{}
	var out []string
	for _, env := range f.Envs() {
		for _, n := range names(env) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// RegisterEnvCompletion completes --env with the environments under clusters/.
func (f *EnvFlags) RegisterEnvCompletion(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("env", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		dir, _ := f.ClustersDir()
		names, _ := platform.EnvNames(dir)
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

// ProfileNames completes profiles.
func ProfileNames(env *platform.Env) []string { return env.ProfileNames() }

// GatedApps completes the cost-gated apps, or those of some gate kinds.
func GatedApps(kinds ...platform.GateKind) Completer {
	return func(env *platform.Env) []string {
		var out []string
		for _, a := range env.Apps {
			if a.Gate == nil {
				continue
			}
			ok := len(kinds) == 0
			for _, k := range kinds {
				ok = ok || a.Gate.Kind == k
			}
			if ok {
				out = append(out, a.Name)
			}
		}
		return out
	}
}

// ChatApps completes the apps that serve the chat API.
func ChatApps(env *platform.Env) []string {
	var out []string
	for _, a := range env.Apps {
		if a.Chat != nil {
			out = append(out, a.Name)
		}
	}
	return out
}
