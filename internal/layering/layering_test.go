package layering

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/aidev-platform/kubectl-plugins/"

// The packages under each prefix may import nothing under the prefixes it
// maps to: a core package never reaches up into a domain package or a
// command, a domain package never into a command.
var forbidden = map[string][]string{
	"pkg/argocd":   {"pkg/costgate", "pkg/smoke", "pkg/profile", "pkg/cmd"},
	"pkg/kube":     {"pkg/argocd", "pkg/costgate", "pkg/smoke", "pkg/profile", "pkg/cmd", "pkg/platform"},
	"pkg/platform": {"pkg/argocd", "pkg/costgate", "pkg/smoke", "pkg/profile", "pkg/cmd", "pkg/kube"},
	"pkg/render":   {"pkg/argocd", "pkg/costgate", "pkg/smoke", "pkg/profile", "pkg/cmd", "pkg/kube", "pkg/platform"},
	"pkg/printers": {"pkg/argocd", "pkg/costgate", "pkg/smoke", "pkg/profile", "pkg/cmd", "pkg/kube", "pkg/platform"},
	"pkg/costgate": {"pkg/smoke", "pkg/profile", "pkg/cmd"},
	"pkg/smoke":    {"pkg/costgate", "pkg/profile", "pkg/cmd"},
	"pkg/profile":  {"pkg/costgate", "pkg/smoke", "pkg/cmd"},
}

// TestImportsPointDownward reads every package's dependencies with go list
// -deps, so an import that runs upward through a third package is caught too.
func TestImportsPointDownward(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	out, err := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Deps", module+"pkg/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for prefix, banned := range forbidden {
			if rel != prefix && !strings.HasPrefix(rel, prefix+"/") {
				continue
			}
			checked++
			for _, dep := range p.Deps {
				for _, b := range banned {
					if d := strings.TrimPrefix(dep, module); d == b || strings.HasPrefix(d, b+"/") {
						t.Errorf("%s imports %s (through its dependencies): imports must point downward", rel, d)
					}
				}
			}
		}
	}
	if checked < 8 {
		t.Errorf("checked %d packages: go list found too few", checked)
	}
}
