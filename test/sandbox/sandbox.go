// Package sandbox is the e2e tests' handle on the local sandbox (a real
// kube-apiserver, controllers, kwok nodes and the real Argo CD controllers, all on
// loopback) that the scripts beside this file build and start.
//
// A test binary starts one sandbox for its whole run (RunTests), or reuses a
// running one when KP_SANDBOX_DIR points at it; each test then takes its own
// namespace and names so tests do not interfere.
package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// ArgoCDNamespace is where the sandbox runs Argo CD and where Applications live.
const ArgoCDNamespace = "argocd"

// GVRs of the Argo CD kinds the tests use.
var (
	ApplicationGVR    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	ApplicationSetGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}
	AppProjectGVR     = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"}
)

// Sandbox is a running sandbox and clients for it.
type Sandbox struct {
	Dir        string            // state folder: kubeconfig, env, logs/, pids/
	Kubeconfig string            // admin kubeconfig
	RepoDir    string            // the local git repository Argo CD reads
	RepoURL    string            // its file:// URL, for Application sources
	Env        map[string]string // everything the env file says (ports, ARGOCD_SERVER, ...)
	ProjectDir string            // this checkout

	Config  *rest.Config
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Client  *kube.Client // the plugins' own client, for their list+watch

	owned    bool // started by this process, so stopped by it
	repoLock sync.Mutex
	spoke    spokeState // the second cluster beside it (Spoke), once started
}

// ProjectRoot finds the checkout by walking up to go.mod.
func ProjectRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func script(root, name string) string { return filepath.Join(root, "test", "sandbox", name) }

// Start reuses the sandbox in $KP_SANDBOX_DIR when it is running, else starts a new
// one in a temporary folder (building what is missing), which Stop then stops.
func Start(ctx context.Context) (*Sandbox, error) {
	root, err := ProjectRoot()
	if err != nil {
		return nil, err
	}
	if dir := os.Getenv("KP_SANDBOX_DIR"); dir != "" {
		status := exec.CommandContext(ctx, "bash", script(root, "status.sh"))
		status.Env = append(os.Environ(), "KP_SANDBOX_DIR="+dir)
		if out, err := status.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("KP_SANDBOX_DIR=%s is not a running sandbox (start it with make sandbox-up, or unset KP_SANDBOX_DIR):\n%s", dir, out)
		}
		return open(root, dir, false)
	}
	dir, err := os.MkdirTemp("", "kp-sandbox-")
	if err != nil {
		return nil, err
	}
	up := exec.CommandContext(ctx, "bash", script(root, "up.sh"))
	up.Env = append(os.Environ(), "KP_SANDBOX_DIR="+dir)
	up.Stdout, up.Stderr = os.Stderr, os.Stderr // progress of a long build belongs on screen
	if err := up.Run(); err != nil {
		return nil, fmt.Errorf("starting the sandbox in %s: %w (logs in %s/logs)", dir, err, dir)
	}
	return open(root, dir, true)
}

func open(root, dir string, owned bool) (*Sandbox, error) {
	env, err := readEnv(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		Dir: dir, Kubeconfig: env["KUBECONFIG"], RepoDir: env["KP_REPO_DIR"], RepoURL: env["KP_REPO_URL"],
		Env: env, ProjectDir: root, owned: owned,
	}
	s.Config, err = clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("sandbox kubeconfig %s: %w", s.Kubeconfig, err)
	}
	s.Config.QPS, s.Config.Burst = 100, 200
	if s.Kube, err = kubernetes.NewForConfig(s.Config); err != nil {
		return nil, err
	}
	if s.Dynamic, err = dynamic.NewForConfig(s.Config); err != nil {
		return nil, err
	}
	s.Client = &kube.Client{Config: s.Config, Dynamic: s.Dynamic, Server: s.Config.Host, Context: "sandbox"}
	return s, nil
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sandbox env: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// Stop stops the sandbox if this process started it; a reused one keeps running.
func (s *Sandbox) Stop() error {
	if !s.owned {
		return s.stopSpoke() // a spoke this process started beside a reused sandbox
	}
	// down.sh stops the spoke too.
	down := exec.Command("bash", script(s.ProjectDir, "down.sh"))
	down.Env = append(os.Environ(), "KP_SANDBOX_DIR="+s.Dir)
	if out, err := down.CombinedOutput(); err != nil {
		return fmt.Errorf("stopping the sandbox: %w\n%s", err, out)
	}
	if os.Getenv("KP_KEEP_SANDBOX") == "" {
		return os.RemoveAll(s.Dir)
	}
	return nil
}

// SyncRepo commits the checkout's current files to the local git repository and
// returns the new HEAD, so Argo CD sees what a test just wrote.
func (s *Sandbox) SyncRepo() (string, error) {
	s.repoLock.Lock()
	defer s.repoLock.Unlock()
	cmd := exec.Command("bash", script(s.ProjectDir, "sync-repo.sh"), s.Dir)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("sync-repo: %w: %s", err, stderr.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// CommitToRepo writes files (path relative to the repo -> content) straight into the
// local git repository and commits them, for tests that change what Argo CD reads
// without touching the checkout. It returns the new HEAD.
func (s *Sandbox) CommitToRepo(message string, files map[string]string) (string, error) {
	s.repoLock.Lock()
	defer s.repoLock.Unlock()
	for rel, content := range files {
		p := filepath.Join(s.RepoDir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	git := func(args ...string) (string, error) {
		base := []string{"-C", s.RepoDir, "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "-c", "commit.gpgsign=false"}
		out, err := exec.Command("git", append(base, args...)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := git("add", "-A"); err != nil {
		return "", err
	}
	if _, err := git("commit", "-q", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	return git("rev-parse", "HEAD")
}

var nameUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// Name returns a DNS-1123 name unique to this test: prefix, a slug of the test
// name and a random suffix, at most 50 characters so derived names still fit.
func Name(t testing.TB, prefix string) string {
	slug := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	name := prefix + "-" + slug
	if max := 50 - len(suffix) - 1; len(name) > max {
		name = strings.TrimRight(name[:max], "-")
	}
	return name + "-" + suffix
}

// Namespace creates a namespace for this test and deletes it when the test ends.
func (s *Sandbox) Namespace(t testing.TB) string {
	t.Helper()
	name := Name(t, "e2e")
	ctx := context.Background()
	_, err := s.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"e2e.kubectl-plugins/test": "true"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		err := s.Kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	return name
}

// RunTests is a TestMain body: in -short mode it runs the tests without a sandbox
// (they skip themselves); otherwise it starts or reuses the sandbox, stores it in
// *sb, runs the tests and stops what it started.
func RunTests(m *testing.M, sb **Sandbox) int {
	flag.Parse()
	root, err := ProjectRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	if testing.Short() { // every test skips itself: nothing to build or start
		return m.Run()
	}
	dir, err := BuildPlugins(root)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	*sb = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Need skips a test in -short mode, where no sandbox is started.
func Need(t testing.TB, sb *Sandbox) *Sandbox {
	t.Helper()
	if testing.Short() || sb == nil {
		t.Skip("e2e: needs the sandbox (not started in -short mode)")
	}
	return sb
}
