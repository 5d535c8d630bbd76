package platform_test

import (
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// BenchmarkLoad reads and validates clusters/ai-dev (descriptor, config, catalog).
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := platform.Load(clusters, "ai-dev"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderFull is `kubectl profile render full` without process start-up:
// the layout (no catalog), freshness check, kustomize build, selection.
func BenchmarkRenderFull(b *testing.B) {
	for b.Loop() {
		e, err := platform.LoadLayout(clusters, "ai-dev")
		if err != nil {
			b.Fatal(err)
		}
		if stale, _ := e.StaleFiles(); len(stale) > 0 {
			b.Fatal("stale")
		}
		p, _ := e.Profile("full")
		if _, err := e.ProfileObjects(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadLayout reads and validates the descriptor and the config, and
// checks the files the ApplicationSets read (what render does besides kustomize).
func BenchmarkLoadLayout(b *testing.B) {
	for b.Loop() {
		e, err := platform.LoadLayout(clusters, "ai-dev")
		if err != nil {
			b.Fatal(err)
		}
		if stale, _ := e.StaleFiles(); len(stale) > 0 {
			b.Fatal("stale")
		}
	}
}

// BenchmarkLintAiDev is `kubectl profile lint --env ai-dev` without process
// start-up: load, render every git source of every app, every check.
func BenchmarkLintAiDev(b *testing.B) {
	for b.Loop() {
		e, err := platform.Load(clusters, "ai-dev")
		if err != nil {
			b.Fatal(err)
		}
		if f := e.Lint(); len(f) > 0 {
			b.Fatal(f[0])
		}
	}
}

// BenchmarkSecretsAiDev is `kubectl profile secrets --env ai-dev`: load, render
// the enabled apps' git sources, the contract.
func BenchmarkSecretsAiDev(b *testing.B) {
	for b.Loop() {
		e, err := platform.Load(clusters, "ai-dev")
		if err != nil {
			b.Fatal(err)
		}
		if c := e.SecretContract(nil, false); len(c.Remote) == 0 {
			b.Fatal("no remote secrets")
		}
	}
}
