package platform_test

import (
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Argo CD names its versions in several forms: /api/version's, an image tag,
// the chart's app.kubernetes.io/version label; all compare by major, minor, patch.
func TestArgoCDVersionSupported(t *testing.T) {
	for _, tc := range []struct {
		version, min  string
		supported, ok bool
	}{
		{"v3.6.1", "v3.0.0", true, true},
		{"v3.6.1+8f2e1c4", "v3.0.0", true, true},
		{"v3.0.0", "v3.0.0", true, true},
		{"3.1.0-rc2", "v3.0.0", true, true},
		{"v2.14.11", "v3.0.0", false, true},
		{"v2.14.11@sha256:0123", "v3.0.0", false, true},
		{"v3.5.9", "v3.6.0", false, true},
		{"v10.0.0", "v3.6.0", true, true},
		{"latest", "v3.0.0", false, false},
		{"", "v3.0.0", false, false},
	} {
		s, ok := platform.ArgoCDVersionSupported(tc.version, tc.min)
		if s != tc.supported || ok != tc.ok {
			t.Errorf("%q against %q: supported %v ok %v, want %v %v", tc.version, tc.min, s, ok, tc.supported, tc.ok)
		}
	}
}

// Both trees declare what they need of Argo CD.
func TestTheTreesDeclareTheirArgoCD(t *testing.T) {
	for _, env := range []string{"ai-dev", "sandbox"} {
		e, err := platform.Load(clusters, env)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Descriptor.ArgoCDMinVersion(); got != "v3.0.0" {
			t.Errorf("%s: argocd.minVersion %q, want v3.0.0", env, got)
		}
	}
}
