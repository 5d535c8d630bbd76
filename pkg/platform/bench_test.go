package platform_test

import (
	"path/filepath"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/render"
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
// load, freshness check, kustomize build, selection.
func BenchmarkRenderFull(b *testing.B) {
	for b.Loop() {
		e, err := platform.Load(clusters, "ai-dev")
		if err != nil {
			b.Fatal(err)
		}
		if stale, _, _ := e.StaleFiles(); len(stale) > 0 {
			b.Fatal("stale")
		}
		objs, err := render.Kustomize(filepath.Join(e.Dir, e.Descriptor.AppSets))
		if err != nil {
			b.Fatal(err)
		}
		p, _ := e.Profile("full")
		if _, err := e.ProfileObjects(p, objs); err != nil {
			b.Fatal(err)
		}
	}
}
