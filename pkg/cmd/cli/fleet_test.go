package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
)

// fleetDir is a clusters folder of n environments (env-00 ...): Fleet only
// lists them; what it reads of each is the test's.
func fleetDir(t testing.TB, n int) *cli.Factory {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		env := filepath.Join(dir, fmt.Sprintf("env-%02d", i))
		if err := os.Mkdir(env, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(env, "platform.yaml"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := cli.NewFactory("kubectl-costgate", genericiooptions.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	f.EnvFlags.Dir = dir
	return f
}

// No more than --env-parallelism environments are read at once, every one is
// read, and the results come in name order, each with its own factory.
func TestFleetIsBounded(t *testing.T) {
	const envs, parallel = 7, 3
	f := fleetDir(t, envs)
	var active, peak atomic.Int32
	started := make(chan string)
	release := make(chan struct{})
	done := make(chan []cli.EnvResult[string])
	go func() {
		results, err := cli.Fleet(context.Background(), f, cli.FleetFlags{Parallelism: parallel, EnvTimeout: time.Hour},
			func(_ context.Context, g *cli.Factory) (string, error) {
				n := active.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				started <- g.EnvFlags.Env
				<-release
				active.Add(-1)
				return "read " + g.EnvFlags.Env, nil
			})
		if err != nil {
			t.Error(err)
		}
		done <- results
	}()
	// Let one finish at a time: each release makes room for exactly one more.
	for i := range envs {
		<-started
		if i >= parallel-1 || i == envs-1 {
			release <- struct{}{}
		}
	}
	for range parallel - 1 {
		release <- struct{}{}
	}
	results := <-done
	if p := peak.Load(); p != parallel {
		t.Errorf("%d environments were read at once, want at most (and, here, exactly) %d", p, parallel)
	}
	for i, r := range results {
		if want := fmt.Sprintf("env-%02d", i); r.Env != want || r.Value != "read "+want || r.Err != nil {
			t.Errorf("result %d: %+v, want %s read by its own factory", i, r, want)
		}
	}
}

// BenchmarkFleet20 reads 20 environments of 20 ms each, one of them 60 ms:
// the view takes about the slowest one's time, not the sum (420 ms).
func BenchmarkFleet20(b *testing.B) {
	f := fleetDir(b, 20)
	for b.Loop() {
		results, err := cli.Fleet(context.Background(), f, cli.FleetFlags{Parallelism: 20, EnvTimeout: time.Minute},
			func(ctx context.Context, g *cli.Factory) (int, error) {
				latency := 20 * time.Millisecond
				if g.EnvFlags.Env == "env-07" {
					latency = 60 * time.Millisecond
				}
				select {
				case <-time.After(latency): // an environment's API latency
				case <-ctx.Done():
				}
				return 1, nil
			})
		if err != nil || len(results) != 20 {
			b.Fatal(err, len(results))
		}
	}
}
