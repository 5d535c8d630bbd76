package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

func wantFailure(t *testing.T, out string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the script succeeded; want a failure. Output:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output does not say %q:\n%s", w, out)
		}
	}
}

// A port already taken: the component that needs it stops start-up with its name
// and its log, and nothing is left running.
func TestSandboxPortInUseNamesComponentAndLog(t *testing.T) {
	sandbox.Need(t, sb)
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_, out, err := sandbox.RunScript(t, "up.sh", nil, []string{"KP_PORT_KUBE_APISERVER=" + port})
	wantFailure(t, out, err, "kube-apiserver", "already in use", "kube-apiserver.log", "stopping what was started")
	if strings.Contains(out, "starting kube-controller-manager") {
		t.Errorf("start-up went on after kube-apiserver failed:\n%s", out)
	}
}

func TestSandboxRedisMissingSaysSo(t *testing.T) {
	sandbox.Need(t, sb)
	t.Parallel()
	_, out, err := sandbox.RunScript(t, "up.sh", nil, []string{"KP_REDIS_SERVER=/nonexistent/redis-server", "KP_NO_INSTALL=1"})
	wantFailure(t, out, err, "redis", "/nonexistent/redis-server", "not found")
	if strings.Contains(out, "starting etcd") {
		t.Errorf("processes were started although redis is missing:\n%s", out)
	}
}

// A binary that fails to build names the component and its build log.
func TestSandboxBuildFailureNamesComponentAndLog(t *testing.T) {
	sandbox.Need(t, sb)
	t.Parallel()
	cache := t.TempDir()
	_, out, err := sandbox.RunScript(t, "build.sh", []string{"kwok"}, []string{"KP_CACHE=" + cache, "KWOK_VERSION=v0.0.0-does-not-exist"})
	log := filepath.Join(cache, "logs", "build-kwok.log")
	wantFailure(t, out, err, "building kwok failed", log)
	if _, statErr := os.Stat(log); statErr != nil {
		t.Errorf("the build log it names is missing: %v", statErr)
	}
}
