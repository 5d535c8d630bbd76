package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ProfileState is every resourceVersion of what kubectl profile could write
// (ApplicationSets, AppProjects, ConfigMaps in Argo CD's namespace), so a test
// can prove a refused command wrote nothing.
func (s *Sandbox) ProfileState(t testing.TB) string {
	t.Helper()
	var parts []string
	for _, gvr := range []schema.GroupVersionResource{ApplicationSetGVR, AppProjectGVR, {Version: "v1", Resource: "configmaps"}} {
		l, err := s.Dynamic.Resource(gvr).Namespace(ArgoCDNamespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range l.Items {
			parts = append(parts, gvr.Resource+"/"+i.GetName()+"@"+i.GetResourceVersion())
		}
	}
	return strings.Join(parts, "\n")
}

// RunScript runs one of the sandbox scripts in a sandbox folder of its own, so a
// test of the scripts never touches the shared sandbox; what it starts is
// stopped when the test ends.
func RunScript(t testing.TB, name string, args, env []string) (dir, output string, err error) {
	t.Helper()
	root, rootErr := ProjectRoot()
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	dir = t.TempDir()
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "test", "sandbox", name)}, args...)...)
	cmd.Env = append(append(os.Environ(), "KP_SANDBOX_DIR="+dir), env...)
	out, err := cmd.CombinedOutput()
	t.Cleanup(func() {
		down := exec.Command("bash", filepath.Join(root, "test", "sandbox", "down.sh"))
		down.Env = append(os.Environ(), "KP_SANDBOX_DIR="+dir)
		_ = down.Run()
	})
	return dir, string(out), err
}
