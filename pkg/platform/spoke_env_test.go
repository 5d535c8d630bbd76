package platform_test

import (
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// clusters/sandbox-spoke lives in the same Argo CD namespace as clusters/sandbox
// (the hub's): none of its AppProjects, ApplicationSets, Applications or layers
// may share a name with the sandbox's, and its apps deploy to the Argo CD
// cluster named spoke (its group apps to the hub, where Applications live).
func TestSpokeEnvNamesDoNotCollideWithTheSandbox(t *testing.T) {
	names := func(e *platform.Env) map[string]string {
		t.Helper()
		out := map[string]string{}
		sets, err := e.AppSetsWithFiles()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sets.Projects {
			out["AppProject/"+p.GetName()] = e.Name
		}
		for _, l := range e.LayerNames() {
			out["layer/"+l] = e.Name
			name, err := e.AppSetName(l)
			if err != nil {
				t.Fatal(err)
			}
			out["ApplicationSet/"+name] = e.Name
		}
		apps, err := e.ExpectedApps(platform.Profile{Layers: e.LayerNames()})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			out["Application/"+a.Name] = e.Name
		}
		return out
	}
	spoke := load(t, "sandbox-spoke")
	sandbox := names(load(t, "sandbox"))
	spokeNames := names(spoke)
	if len(spokeNames) == 0 {
		t.Fatal("sandbox-spoke names nothing")
	}
	for n := range spokeNames {
		if sandbox[n] != "" {
			t.Errorf("sandbox-spoke and sandbox both name %s", n)
		}
	}
	for _, a := range spoke.Apps {
		spec, _ := a.Manifest["spec"].(map[string]any)
		dest, _ := spec["destination"].(map[string]any)
		if dest["name"] != "spoke" || dest["server"] != nil {
			t.Errorf("%s (%s): destination %v, want name spoke and no server", a.Name, a.File, dest)
		}
	}
	gates := 0
	for _, a := range spoke.Apps {
		if a.Gate != nil {
			gates++
		}
	}
	if gates != 1 {
		t.Errorf("sandbox-spoke has %d gates, want 1", gates)
	}
}
