package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// FleetFlags are --all-envs and how the environments are read: each on its
// own cluster (its platform.yaml cluster:), concurrently, each within a time.
type FleetFlags struct {
	AllEnvs     bool
	Parallelism int
	EnvTimeout  time.Duration
}

// AddFlags registers the fleet flags on a verb.
func (o *FleetFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.AllEnvs, "all-envs", false, "Every environment under --dir, each on its own cluster (its platform.yaml cluster:), in one view")
	fs.IntVar(&o.Parallelism, "env-parallelism", 16, "With --all-envs: how many environments are read at once")
	fs.DurationVar(&o.EnvTimeout, "env-timeout", 30*time.Second, "With --all-envs: how long one environment may take before its row says it timed out")
}

// Validate refuses what --all-envs cannot mean: one --env, or one cluster
// for every environment.
func (o *FleetFlags) Validate(f *Factory, cmd *cobra.Command) error {
	if !o.AllEnvs {
		return nil
	}
	if f.EnvFlags.Env != "" {
		return fmt.Errorf("--all-envs reads every environment under --dir: drop --env %s", f.EnvFlags.Env)
	}
	for _, name := range []string{"context", "cluster", "user", "server", "kube-server", "token"} {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed && !(name == "server" && f.Host() == HostArgoCD) {
			return fmt.Errorf("--all-envs reads each environment on its own cluster (its platform.yaml cluster:), --%s names one: drop it", name)
		}
	}
	if o.Parallelism < 1 {
		return fmt.Errorf("--env-parallelism %d: want 1 or more", o.Parallelism)
	}
	if o.EnvTimeout <= 0 {
		return fmt.Errorf("--env-timeout %s: want a positive duration such as 30s", o.EnvTimeout)
	}
	return nil
}

// EnvResult is one environment's part of a fleet view: its value, or why
// there is none.
type EnvResult[T any] struct {
	Env string
	// Context is the kubeconfig context it was read from ("" in server mode
	// or when it was not reached).
	Context string
	Value   T
	Err     error
}

// Fleet runs read for every environment under --dir, at most parallelism at
// a time, each with a factory of its own (ForEnv) and within timeout: an
// environment that does not answer in time is a result with an error, never
// a hang, and never holds up the others' results. Results come in
// environment name order.
func Fleet[T any](ctx context.Context, f *Factory, flags FleetFlags, read func(context.Context, *Factory) (T, error)) ([]EnvResult[T], error) {
	dir, err := f.EnvFlags.ClustersDir()
	if err != nil {
		return nil, err
	}
	names, err := platform.EnvNames(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s holds no environment (a folder with %s)", dir, platform.DescriptorFile)
	}
	errOut := &lockedWriter{w: f.ErrOut}
	results := make([]EnvResult[T], len(names))
	slots := make(chan struct{}, flags.Parallelism)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				results[i] = EnvResult[T]{Env: name, Err: ctx.Err()}
				return
			}
			defer func() { <-slots }()
			results[i] = runEnv(ctx, f.ForEnv(name, errOut), name, flags.EnvTimeout, read)
		})
	}
	wg.Wait()
	return results, nil
}

// runEnv reads one environment within timeout. The read runs apart, so a
// client that ignores its context cannot hold the view: at the deadline the
// result says so and the read is left to finish on its own.
func runEnv[T any](ctx context.Context, g *Factory, name string, timeout time.Duration, read func(context.Context, *Factory) (T, error)) EnvResult[T] {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan EnvResult[T], 1)
	go func() {
		v, err := read(ctx, g)
		r := EnvResult[T]{Env: name, Value: v, Err: err}
		if g.client != nil {
			r.Context = g.client.Context
		}
		done <- r
	}()
	select {
	case r := <-done:
		if r.Err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.Err = fmt.Errorf("unreachable: no answer within %s (--env-timeout): %w", timeout, r.Err)
		}
		return r
	case <-ctx.Done():
		err := ctx.Err()
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("unreachable: no answer within %s (--env-timeout)", timeout)
		}
		if g.writing {
			err = fmt.Errorf("%w; a change it had sent may still be made: look again with list --env %s", err, name)
		}
		return EnvResult[T]{Env: name, Err: err}
	}
}

// ForEnv is a factory for one more environment: --env set to it, kubeconfig
// flags of its own (the kubeconfig file and the request timeout, no
// context: the environment's cluster: picks it), its own clients, the same
// streams (errOut for warnings, shared by concurrent environments).
func (f *Factory) ForEnv(env string, errOut io.Writer) *Factory {
	g := &Factory{
		IOStreams: f.IOStreams, Plugin: f.Plugin, KubeFlags: CopyKubeconfig(f.KubeFlags, ""),
		ArgoCD: f.ArgoCD, EnvFlags: &EnvFlags{Env: env, Dir: f.EnvFlags.Dir},
		Now: f.Now, BuildClient: f.BuildClient, AddClients: f.AddClients, Getenv: f.Getenv, Forward: f.Forward,
		writing: f.writing,
	}
	g.ErrOut = errOut
	g.NewClient = func() (*kube.Client, error) { return g.BuildClient(g.KubeFlags) }
	return g
}

// CopyKubeconfig is kubeconfig flags for another cluster of the same
// kubeconfig: the file, the request timeout and TLS/impersonation settings;
// not the server, user, token or cluster, which name one cluster.
func CopyKubeconfig(from *genericclioptions.ConfigFlags, context string) *genericclioptions.ConfigFlags {
	to := genericclioptions.NewConfigFlags(true)
	copyString := func(dst, src *string) {
		if dst != nil && src != nil {
			*dst = *src
		}
	}
	copyString(to.KubeConfig, from.KubeConfig)
	copyString(to.Timeout, from.Timeout)
	copyString(to.CacheDir, from.CacheDir)
	copyString(to.Impersonate, from.Impersonate)
	if from.ImpersonateGroup != nil {
		*to.ImpersonateGroup = append([]string{}, *from.ImpersonateGroup...)
	}
	*to.Context = context
	return to
}

// lockedWriter lets concurrent environments share stderr line by line.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// FleetError is a fleet view's exit: nil when no environment is named in
// failed, else an error saying how many of total and which ("could not be
// read", "failing or not checked").
func FleetError(what string, failed []string, total int) error {
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d environment(s) %s: %s", len(failed), total, what, strings.Join(failed, ", "))
}
