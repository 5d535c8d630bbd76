package gates

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	pcostgate "github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

var deploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// A sync gate closes: down of inference-demo deletes what its sync deployed,
// in core mode and in server mode (Argo CD's DeleteResource); its Application
// stays, goes OutOfSync with health Missing, and no pod is left when down
// returns. A sync then brings it back Synced and Healthy with its pod.
func TestSyncGateDownAndSyncAgain(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clusters := filepath.Join(s.RepoDir, "clusters")
	envArgs := []string{"--env", "sandbox", "--dir", clusters}
	run := func(timeout time.Duration, plugin string, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, timeout, plugin, append(args, envArgs...)...)
	}
	if r := run(time.Minute, "kubectl-profile", "apply", "full"); r.Code != 0 {
		t.Fatalf("apply full: %s", r)
	}
	if r := run(6*time.Minute, "kubectl-profile", "wait", "full", "--timeout", "5m"); r.Code != 0 {
		t.Fatalf("wait full: %s", r)
	}
	token, err := s.ArgoCDToken()
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string][]string{"core": nil, "server": {"--argocd-server", s.Env["ARGOCD_SERVER"], "--plaintext", "--auth-token", token}}
	costgate := func(mode string, args ...string) sandbox.Result {
		t.Helper()
		r := run(4*time.Minute, "kubectl-costgate", append(args, modes[mode]...)...)
		if strings.Contains(r.Stdout+r.Stderr, token) {
			t.Fatal("the token was printed")
		}
		return r
	}
	const app, ns = "inference-demo", "inference-demo"
	// The other tests find the gate closed, as after apply.
	t.Cleanup(func() {
		if r := costgate("core", "down", app); r.Code != 0 {
			t.Errorf("closing %s again: %s", app, r)
		}
	})
	appState := func(what string, cond func(argocd.AppStatus, *unstructured.Unstructured) bool) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		_, err := s.WaitFor(wctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, app, func(u *unstructured.Unstructured) (bool, error) {
			return cond(argocd.StatusOf(u), u), nil
		})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	readyPods := func() int {
		pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pods.Items {
			if podReady(p) {
				n++
			}
		}
		return n
	}
	opened := func(mode string) {
		t.Helper()
		r := costgate(mode, "sync", app)
		if r.Code != 0 || !strings.Contains(r.Stdout, "sync "+app+": Succeeded") {
			t.Fatalf("sync (%s mode): %s", mode, r)
		}
		appState("Synced and Healthy after sync", func(st argocd.AppStatus, _ *unstructured.Unstructured) bool {
			return st.Sync == argocd.Synced && st.Health == argocd.Healthy
		})
		waitFor(t, 2*time.Minute, func() bool { return readyPods() == 1 })
	}
	closed := func(mode string) {
		t.Helper()
		r := costgate(mode, "down", app)
		if r.Code != 0 || !strings.Contains(r.Stdout, app+": deleted Deployment "+ns+"/"+app) || !strings.Contains(r.Stdout, app+": down") {
			t.Fatalf("down (%s mode): %s", mode, r)
		}
		t.Logf("down (%s mode): %s", mode, r)
		// down waited: nothing it deleted, and no pod, is left when it returns.
		if pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil || len(pods.Items) != 0 {
			t.Errorf("down (%s mode) returned with pods left: %v %v", mode, pods, err)
		}
		if _, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("down (%s mode) returned with the Deployment there: %v", mode, err)
		}
		// The Application stays, not deployed: OutOfSync, Missing, opened-at cleared.
		appState("OutOfSync and Missing after down", func(st argocd.AppStatus, u *unstructured.Unstructured) bool {
			_, stamped := u.GetAnnotations()[pcostgate.OpenedAtAnnotation]
			return st.Sync == argocd.OutOfSync && st.Health == argocd.Missing && !stamped
		})
		r = costgate(mode, "list", "-o", "json")
		var statuses []pcostgate.Status
		if err := json.Unmarshal([]byte(r.Stdout), &statuses); r.Code != 0 || err != nil {
			t.Fatalf("list (%s mode) after down: %v: %s", mode, err, r)
		}
		for _, st := range statuses {
			if st.App == app && st.State != pcostgate.StateDown {
				t.Errorf("list (%s mode) says %s is %s after down", mode, app, st.State)
			}
		}
	}

	for _, mode := range []string{"core", "server"} {
		t.Run(mode+" mode", func(t *testing.T) {
			opened(mode)
			closed(mode)
			// A closed sync gate opens again with a sync, and closes again at once.
			opened(mode)
			if r := costgate(mode, "down", app, "--wait=false"); r.Code != 0 || strings.Contains(r.Stderr, "waiting") {
				t.Fatalf("down --wait=false (%s mode): %s", mode, r)
			}
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			if err := s.WaitGone(wctx, deploymentGVR, ns, app); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 2*time.Minute, func() bool {
				pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				return err == nil && len(pods.Items) == 0
			})
			if r := costgate(mode, "down", app); r.Code != 0 || !strings.Contains(r.Stdout, "already down") {
				t.Errorf("down of a closed sync gate (%s mode): %s", mode, r)
			}
		})
	}
}
