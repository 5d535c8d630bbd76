package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// The spoke's names, as spoke-up.sh makes them.
const (
	SpokeName    = "spoke"         // the Argo CD cluster name: Applications say spec.destination.name: spoke
	SpokeContext = "spoke"         // its context in Spoke.Kubeconfig
	HubContext   = "sandbox"       // the sandbox's own context (the hub), current in Spoke.Kubeconfig
	SpokeSecret  = "cluster-spoke" // the hub's Argo CD cluster Secret, in namespace argocd
)

// Spoke is a second cluster beside the sandbox (test/sandbox/spoke-up.sh): its
// own kube-apiserver (on the sandbox's etcd, prefix /spoke), controller-manager,
// scheduler and kwok nodes, and no Argo CD of its own: the sandbox's Argo CD
// (the hub) deploys to it through the cluster Secret argocd/cluster-spoke.
type Spoke struct {
	Dir        string // state folder: $KP_SANDBOX_DIR/spoke (env, kubeconfigs, pki/, logs/, pids/)
	Name       string // Argo CD cluster name (spec.destination.name): "spoke"
	Server     string // https://127.0.0.1:<port>, the cluster Secret's server
	Context    string // the spoke's context in Kubeconfig: "spoke"
	HubContext string // the hub's context in Kubeconfig: "sandbox" (current)
	Kubeconfig string // both contexts; the hub's is current, as the sandbox's own kubeconfig
	SpokeOnly  string // a kubeconfig with the spoke's context alone (its admin)
	Secret     string // the cluster Secret's name in namespace argocd: "cluster-spoke"

	Config  *rest.Config // the spoke's admin
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Client  *kube.Client

	sb *Sandbox
	mu sync.Mutex // one script at a time
}

// spokeState is the sandbox's one spoke, started at most once per test binary.
type spokeState struct {
	once    sync.Once
	spoke   *Spoke
	err     error
	started bool // by this process: Sandbox.Stop forgets it on a reused sandbox
}

// Spoke returns the spoke cluster beside this sandbox, starting it (spoke-up.sh)
// and registering it in the hub's Argo CD the first time any test of this binary
// asks; concurrent callers wait for that one start. A spoke already running in
// the sandbox's folder is reused. It fails the test when the spoke cannot start.
func (s *Sandbox) Spoke(t testing.TB) *Spoke {
	t.Helper()
	st := &s.spoke
	st.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		st.started = !s.spokeRunning()
		if err := s.spokeScript(ctx, "spoke-up.sh"); err != nil {
			st.err = err
			return
		}
		st.spoke, st.err = openSpoke(s)
	})
	if st.err != nil {
		t.Fatalf("spoke: %v", st.err)
	}
	return st.spoke
}

// spokeRunning says whether a spoke's API server already runs in the sandbox's folder.
func (s *Sandbox) spokeRunning() bool {
	b, err := os.ReadFile(filepath.Join(s.Dir, "spoke", "pids", "kube-apiserver.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && syscall.Kill(pid, 0) == nil
}

func (s *Sandbox) spokeScript(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, "bash", append([]string{script(s.ProjectDir, name)}, args...)...)
	cmd.Env = append(os.Environ(), "KP_SANDBOX_DIR="+s.Dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w (logs in %s)\n%s", name, err, filepath.Join(s.Dir, "spoke", "logs"), out)
	}
	return nil
}

// stopSpoke forgets a spoke this process started on a sandbox it did not start
// (down.sh stops it with an owned sandbox).
func (s *Sandbox) stopSpoke() error {
	if !s.spoke.started || s.owned {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return s.spokeScript(ctx, "spoke-down.sh", "--purge")
}

func openSpoke(s *Sandbox) (*Spoke, error) {
	dir := filepath.Join(s.Dir, "spoke")
	env, err := readEnv(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err
	}
	sp := &Spoke{
		Dir: dir, Name: env["KP_SPOKE_NAME"], Server: env["KP_SPOKE_SERVER"], Context: env["KP_SPOKE_CONTEXT"],
		HubContext: env["KP_SPOKE_HUB_CONTEXT"], Kubeconfig: env["KP_SPOKE_KUBECONFIG"],
		SpokeOnly: env["KP_SPOKE_ONLY_KUBECONFIG"], Secret: SpokeSecret, sb: s,
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: sp.Kubeconfig}
	sp.Config, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: sp.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("spoke kubeconfig %s: %w", sp.Kubeconfig, err)
	}
	sp.Config.QPS, sp.Config.Burst = 100, 200
	if sp.Kube, err = kubernetes.NewForConfig(sp.Config); err != nil {
		return nil, err
	}
	if sp.Dynamic, err = dynamic.NewForConfig(sp.Config); err != nil {
		return nil, err
	}
	sp.Client = &kube.Client{Config: sp.Config, Dynamic: sp.Dynamic, Server: sp.Config.Host, Context: sp.Context}
	return sp, nil
}

// Stop takes the spoke down (spoke-down.sh: its API server, controllers and kwok
// stop; its state, data and Argo CD registration stay), as a cluster that becomes
// unreachable. Other tests using the spoke meanwhile see it down: a test that
// stops it must not run in parallel with them.
func (sp *Spoke) Stop(t testing.TB) {
	t.Helper()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sp.sb.spokeScript(ctx, "spoke-down.sh"); err != nil {
		t.Fatalf("stopping the spoke: %v", err)
	}
}

// Start brings a stopped spoke back (spoke-up.sh): the same server, credentials
// and data, and asks the hub's Argo CD to drop its cache of it (the cluster
// Secret's refresh annotation), so Argo CD connects again at once.
func (sp *Spoke) Start(t testing.TB) {
	t.Helper()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := sp.sb.spokeScript(ctx, "spoke-up.sh"); err != nil {
		t.Fatalf("starting the spoke: %v", err)
	}
}

// Reachable asks the spoke's API server /readyz once, with the spoke's admin
// credentials; nil when it answers ok.
func (sp *Spoke) Reachable(ctx context.Context) error {
	body, err := sp.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Raw()
	if err != nil {
		return err
	}
	if string(body) != "ok" {
		return fmt.Errorf("/readyz: %s", body)
	}
	return nil
}

// InvalidateArgoCDCache asks the hub's application controller to drop its cache
// of the spoke and list it again, as `argocd cluster invalidate-cache` does (the
// cluster Secret's argocd.argoproj.io/refresh annotation, a time after its last
// sync). Without it, a controller whose watches break keeps reporting the last
// known state (connectionState Successful) of a cluster that went away.
func (sp *Spoke) InvalidateArgoCDCache(ctx context.Context) error {
	at := time.Now().UTC().Add(time.Second).Format(time.RFC3339)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":%q}}}`, at)
	_, err := sp.sb.Kube.CoreV1().Secrets(ArgoCDNamespace).Patch(ctx, sp.Secret, types.MergePatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: "e2e"})
	return err
}

// ConnectionState is what Argo CD says of a cluster (argocd cluster get:
// info.connectionState), read from argocd-server's API.
type ConnectionState struct {
	Status      string    `json:"status"` // Successful, Failed or Unknown
	Message     string    `json:"message"`
	AttemptedAt time.Time `json:"attemptedAt"`
}

// ArgoCDConnection reads the spoke's connection state from the hub's
// argocd-server (GET /api/v1/clusters, as admin).
func (sp *Spoke) ArgoCDConnection(ctx context.Context) (ConnectionState, error) {
	return sp.sb.ArgoCDClusterConnection(ctx, sp.Server)
}

// ArgoCDClusterConnection reads the connection state argocd-server reports for
// the cluster whose server URL is server.
func (s *Sandbox) ArgoCDClusterConnection(ctx context.Context, server string) (ConnectionState, error) {
	token, err := s.ArgoCDToken()
	if err != nil {
		return ConnectionState{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Env["ARGOCD_SERVER"]+"/api/v1/clusters", nil)
	if err != nil {
		return ConnectionState{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ConnectionState{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ConnectionState{}, fmt.Errorf("argocd-server GET /api/v1/clusters: %s", resp.Status)
	}
	var list struct {
		Items []struct {
			Server string `json:"server"`
			Info   struct {
				ConnectionState ConnectionState `json:"connectionState"`
			} `json:"info"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return ConnectionState{}, err
	}
	for _, c := range list.Items {
		if c.Server == server {
			return c.Info.ConnectionState, nil
		}
	}
	return ConnectionState{}, fmt.Errorf("argocd-server knows no cluster %s", server)
}

// WaitArgoCDConnection polls argocd-server (its cluster info is refreshed every
// 10 s by the application controller; there is nothing to watch) until the
// spoke's connection state is status, and returns it; on timeout the error says
// the last state seen.
func (sp *Spoke) WaitArgoCDConnection(ctx context.Context, status string) (ConnectionState, error) {
	var last ConnectionState
	var lastErr error
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		last, lastErr = sp.ArgoCDConnection(ctx)
		if lastErr == nil && last.Status == status {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("waiting for Argo CD to report cluster %s %s: %w (last: %+v, error: %v)",
				sp.Name, status, ctx.Err(), last, lastErr)
		case <-tick.C:
		}
	}
}
