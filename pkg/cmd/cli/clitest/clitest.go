// Package clitest runs the plugins' commands in process over a fake cluster, the
// way argo-rollouts tests its plugin: a factory whose client is kubetest's fake,
// a fixed clock, captured stdout and stderr, and golden files compared whole
// (internal/golden: go test ./pkg/cmd/... -update rewrites them).
package clitest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// Clock is the fake "now" of every command run here.
var Clock = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Harness is one fake cluster and the settings commands run with.
type Harness struct {
	T      *testing.T
	Plugin string
	Fake   *kubetest.Fake
	Now    time.Time
	// Environ is what Getenv sees (ARGOCD_SERVER, keys for --key-env).
	Environ map[string]string
	// ClientErr, when set, is what building the client fails with.
	ClientErr error
	// Forward replaces the port-forward (smoke chat).
	Forward func(ctx context.Context, c *kube.Client, namespace, service string, port int32) (*kube.Forward, error)
	// Ctx is the context the command runs under (cancel it to interrupt).
	Ctx context.Context
	// Kubeconfig, when set, is the kubeconfig file the commands read (unless
	// --kubeconfig says another): the fake then acts as the cluster of the
	// context the flags select, with its server and context name, and
	// Contexts records each selection.
	Kubeconfig string
	Contexts   []string
	// Clusters are more fake clusters, by the kubeconfig context that selects
	// them (a fleet view's environments, a spoke); the others select Fake.
	Clusters map[string]*kubetest.Fake

	mu sync.Mutex
}

// New returns a harness over a fake cluster holding objs.
func New(t *testing.T, plugin string, objs ...runtime.Object) *Harness {
	return &Harness{T: t, Plugin: plugin, Fake: kubetest.NewClient(objs...), Now: Clock, Environ: map[string]string{}, Ctx: context.Background()}
}

// Result is what a command printed and how it exited.
type Result struct {
	Code   int
	Stdout string
	Stderr string
}

// Factory is the factory the harness hands to a command.
func (h *Harness) Factory(streams genericiooptions.IOStreams) *cli.Factory {
	f := cli.NewFactory(h.Plugin, streams)
	f.Now = func() time.Time { return h.Now }
	// Never the machine's own kubeconfig: an environment's cluster: is
	// resolved against the harness's, or none.
	*f.KubeFlags.KubeConfig = os.DevNull
	if h.Kubeconfig != "" {
		*f.KubeFlags.KubeConfig = h.Kubeconfig
	}
	f.BuildClient = func(flags *genericclioptions.ConfigFlags) (*kube.Client, error) {
		if h.ClientErr != nil {
			return nil, h.ClientErr
		}
		if h.Kubeconfig == "" {
			return h.Fake.Client, nil
		}
		cfg, err := flags.ToRESTConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		raw, _ := flags.ToRawKubeConfigLoader().RawConfig()
		name := raw.CurrentContext
		if flags.Context != nil && *flags.Context != "" {
			name = *flags.Context
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.Contexts = append(h.Contexts, name)
		fake := h.Fake
		if other, ok := h.Clusters[name]; ok {
			fake = other
		}
		fake.Client.Server, fake.Client.Context = cfg.Host, name
		return fake.Client, nil
	}
	f.NewClient = func() (*kube.Client, error) { return f.BuildClient(f.KubeFlags) }
	f.Getenv = func(k string) string { return h.Environ[k] }
	f.Forward = h.Forward
	return f
}

// Run runs a plugin's root with args.
func (h *Harness) Run(newRoot func(*cli.Factory) *cobra.Command, args ...string) Result {
	h.T.Helper()
	var in, out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: &in, Out: &out, ErrOut: &errOut}
	code := cli.Execute(h.Ctx, newRoot(h.Factory(streams)), streams, args)
	return Result{Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

// String is the result as a golden file holds it.
func (r Result) String() string {
	return "exit " + strconv.Itoa(r.Code) + "\n--- stdout\n" + r.Stdout + "--- stderr\n" + r.Stderr
}

// Golden compares got with testdata/<name>.golden (internal/golden: -update
// rewrites it).
func Golden(t *testing.T, name, got string) {
	t.Helper()
	golden.Assert(t, golden.File(name), got)
}

// Clusters is the repository's clusters/ folder, from a package under pkg/cmd.
func Clusters(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "clusters"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Args appends --env and --dir for an environment of the repository's clusters/.
func Args(t *testing.T, env string, args ...string) []string {
	return append(args, "--env", env, "--dir", Clusters(t))
}

// Normalize replaces what varies between runs (durations in ms) with fixed text.
func Normalize(s string, pairs ...string) string {
	return strings.NewReplacer(pairs...).Replace(s)
}
