package platform

import (
	"fmt"
	"strconv"
	"strings"
)

// ArgoCDSupport is what the tree needs of the Argo CD that deploys it
// (platform.yaml argocd:). Absent: nothing is required and doctor checks no
// version.
type ArgoCDSupport struct {
	// MinVersion is the oldest Argo CD release the tree works with (v3.0.0):
	// the API fields, sync options and health checks its manifests rely on.
	MinVersion string `json:"minVersion,omitempty"`
}

// validate checks the minimum version's form (vMAJOR.MINOR.PATCH).
func (a *ArgoCDSupport) validate(bad fieldError) error {
	if a == nil || a.MinVersion == "" {
		return nil
	}
	if _, ok := parseVersion(a.MinVersion); !ok {
		return bad("argocd.minVersion", "%q is not a version like v3.0.0", a.MinVersion)
	}
	return nil
}

// ArgoCDMinVersion is the oldest Argo CD release the tree supports; "": any.
func (d *Descriptor) ArgoCDMinVersion() string {
	if d.ArgoCD == nil {
		return ""
	}
	return d.ArgoCD.MinVersion
}

// ArgoCDVersionSupported says whether an Argo CD version (v3.6.1,
// v3.6.1+8f2e1c4, 3.1.0-rc2, an image tag) is at least min; ok is false when
// version is no version at all.
func ArgoCDVersionSupported(version, min string) (supported, ok bool) {
	v, ok := parseVersion(version)
	if !ok {
		return false, false
	}
	m, mok := parseVersion(min)
	if !mok {
		return true, true // validated on load: an empty minimum
	}
	for i := range v {
		if v[i] != m[i] {
			return v[i] > m[i], true
		}
	}
	return true, true
}

// parseVersion reads [v]MAJOR.MINOR[.PATCH], ignoring a pre-release or build
// suffix (-rc1, +8f2e1c4) and an image digest (@sha256:…).
func parseVersion(s string) ([3]int, bool) {
	var out [3]int
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(s, "-+@"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

// String is the requirement as doctor states it.
func (a *ArgoCDSupport) String() string {
	if a == nil || a.MinVersion == "" {
		return "no minimum Argo CD version"
	}
	return fmt.Sprintf("Argo CD %s or newer", a.MinVersion)
}
