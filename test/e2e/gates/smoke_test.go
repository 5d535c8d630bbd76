package gates

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

type checkJSON struct {
	Name, Status, Message, Fix string
}

func checks(t *testing.T, r sandbox.Result) map[string]checkJSON {
	t.Helper()
	var list []checkJSON
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, r)
	}
	out := map[string]checkJSON{}
	for _, c := range list {
		out[c.Name] = c
	}
	return out
}

// The smoke tests share the platform with the profile and costgate tests: in order.
func TestSmokeLifecycle(t *testing.T) {
	s := sandbox.Need(t, sb)
	if _, err := s.SyncRepo(); err != nil {
		t.Fatal(err)
	}
	clusters := filepath.Join(s.RepoDir, "clusters")
	plugin := func(name string, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, 6*time.Minute, name, append(args, "--env", "sandbox", "--dir", clusters)...)
	}
	ctx := context.Background()
	if r := plugin("kubectl-profile", "apply", "full"); r.Code != 0 {
		t.Fatal(r)
	}
	if r := plugin("kubectl-profile", "wait", "full", "--timeout", "5m"); r.Code != 0 {
		t.Fatal(r)
	}
	key, err := os.ReadFile(s.Env["KP_VLLM_API_KEY_FILE"])
	if err != nil {
		t.Fatal(err)
	}

	t.Run("doctor passes on the converged profile", func(t *testing.T) {
		junit := filepath.Join(t.TempDir(), "doctor.xml")
		r := plugin("kubectl-smoke", "doctor", "--profile", "full", "-o", "json", "--junit", junit)
		if r.Code != 0 {
			t.Fatalf("doctor: %s", r)
		}
		for name, c := range checks(t, r) {
			if c.Status == "FAIL" {
				t.Errorf("%s failed: %s", name, c.Message)
			}
		}
		x, err := os.ReadFile(junit)
		if err != nil || !strings.Contains(string(x), `<testsuite name="kubectl-smoke" tests="14" failures="0"`) {
			t.Errorf("JUnit report: %v\n%s", err, x)
		}
	})

	t.Run("doctor names a broken app", func(t *testing.T) {
		// guardrails' manifest in git becomes invalid: Argo CD cannot compare it.
		path := "clusters/sandbox/workloads/guardrails/deployment.yaml"
		good, err := os.ReadFile(filepath.Join(s.RepoDir, path))
		if err != nil {
			t.Fatal(err)
		}
		apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
		refresh := func() {
			t.Helper()
			p := `{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"hard"}}}`
			if _, err := apps.Patch(ctx, "guardrails", types.MergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CommitToRepo("e2e: break guardrails", map[string]string{path: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: guardrails}\nspec: {replicas: many}\n"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = s.CommitToRepo("e2e: mend guardrails", map[string]string{path: string(good)})
			refresh()
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			_, _ = s.WaitFor(wctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, "guardrails", func(u *unstructured.Unstructured) (bool, error) {
				st := argocd.StatusOf(u)
				sync, health := st.Sync, st.Health
				return sync == "Synced" && health == "Healthy", nil
			})
		})
		refresh()
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if _, err := s.WaitFor(wctx, sandbox.ApplicationGVR, sandbox.ArgoCDNamespace, "guardrails", func(u *unstructured.Unstructured) (bool, error) {
			st := argocd.StatusOf(u)
			sync := st.Sync
			return sync != "Synced", nil
		}); err != nil {
			t.Fatal(err)
		}
		r := plugin("kubectl-smoke", "doctor", "--profile", "full", "-o", "json")
		c := checks(t, r)["profile-apps"]
		if r.Code != 1 || c.Status != "FAIL" || !strings.Contains(c.Message, "guardrails (") || c.Fix == "" {
			t.Fatalf("doctor with a broken app: %+v\n%s", c, r)
		}
	})

	t.Run("doctor names a stale groups file", func(t *testing.T) {
		stale := platformtest.CopyEnv(t, clusters, "sandbox", map[string]platformtest.Edit{
			"config.yaml": platformtest.Replace(t, "opencost: true", "opencost: false"),
		})
		r := s.Plugin(t, time.Minute, "kubectl-smoke", "doctor", "--profile", "full", "-o", "json", "--env", "sandbox", "--dir", stale)
		c := checks(t, r)["groups-fresh"]
		if r.Code != 1 || c.Status != "FAIL" || !strings.Contains(c.Message, "groups.yaml") || !strings.Contains(c.Fix, "kubectl profile resolve") {
			t.Fatalf("doctor with a stale groups file: %+v", c)
		}
	})

	t.Run("chat through a real port-forward with the key from the Secret", func(t *testing.T) {
		if r := plugin("kubectl-costgate", "up", "raw-vllm"); r.Code != 0 {
			t.Fatal(r)
		}
		t.Cleanup(func() { plugin("kubectl-costgate", "down", "raw-vllm") })
		r := plugin("kubectl-smoke", "chat", "raw-vllm", "-o", "json")
		var rep struct {
			Status, Via, Answer, Model string
			HTTPStatus                 int
		}
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != 0 || rep.Status != "PASS" || rep.HTTPStatus != 200 {
			t.Fatalf("chat raw-vllm: %v %s", err, r)
		}
		if !strings.HasPrefix(rep.Via, "port-forward to pod serving/raw-vllm-") || rep.Answer == "" {
			t.Errorf("chat report: %+v", rep)
		}
		stream := plugin("kubectl-smoke", "chat", "raw-vllm", "--stream")
		if stream.Code != 0 || !strings.Contains(stream.Stdout, "first token after") {
			t.Errorf("chat --stream: %s", stream)
		}
		// A wrong key: refused by the server, reported as such, never printed.
		wrong := "sk-wrong-" + strings.Repeat("x", 20)
		cmdEnv := append(os.Environ(), "KUBECONFIG="+s.Kubeconfig, "E2E_WRONG_KEY="+wrong)
		bad := sandbox.RunPlugin(t, time.Minute, cmdEnv, "kubectl-smoke", "chat", "raw-vllm", "--key-env", "E2E_WRONG_KEY", "--env", "sandbox", "--dir", clusters)
		if bad.Code != 1 || !strings.Contains(bad.Stdout, "the key was refused (HTTP 401)") {
			t.Errorf("wrong key: %s", bad)
		}
		for _, out := range []sandbox.Result{r, stream, bad} {
			if strings.Contains(out.Stdout+out.Stderr, string(key)) || strings.Contains(out.Stdout+out.Stderr, wrong) {
				t.Fatal("a key was printed")
			}
		}
		run := plugin("kubectl-smoke", "run", "--profile", "serving")
		if run.Code != 0 || !strings.Contains(run.Stdout, "chat-raw-vllm") || !strings.Contains(run.Stdout, "PASS     HTTP 200") {
			t.Errorf("smoke run --profile serving: %s", run)
		}

		// At -v=9 client-go logs request and response bodies: the key (read from
		// its Secret) and the tokens (the API server's, Argo CD's) must still not
		// appear, not even a 12-character piece of them.
		argoToken, err := s.ArgoCDToken()
		if err != nil {
			t.Fatal(err)
		}
		kubeToken := adminToken(t, s)
		secrets := map[string]string{"the model key": strings.TrimSpace(string(key)), "the Argo CD token": argoToken, "the API server token": kubeToken}
		for name, args := range map[string][]string{
			"chat":               {"kubectl-smoke", "chat", "raw-vllm", "-v=9"},
			"chat --stream":      {"kubectl-smoke", "chat", "raw-vllm", "--stream", "-v=9"},
			"run":                {"kubectl-smoke", "run", "--profile", "serving", "-v=9"},
			"doctor":             {"kubectl-smoke", "doctor", "--profile", "serving", "-v=9"},
			"sync (server mode)": {"kubectl-costgate", "sync", "raw-vllm", "-v=9", "--argocd-server", s.Env["ARGOCD_SERVER"], "--plaintext", "--auth-token", argoToken},
		} {
			r := plugin(args[0], args[1:]...)
			if r.Code != 0 {
				t.Errorf("%s -v=9: %s", name, r)
			}
			// Server mode talks to Argo CD alone, over gRPC, which -v does not
			// log: it must not have asked the Kubernetes API anything.
			serverMode := strings.Contains(name, "server mode")
			if logged := strings.Contains(r.Stderr, `"Response Body"`); logged == serverMode {
				t.Errorf("%s -v=9: Kubernetes response bodies logged: %v (want %v)", name, logged, !serverMode)
			}
			for what, secret := range secrets {
				if piece := leakedPiece(r.Stdout+r.Stderr, secret, 12); piece != "" {
					t.Errorf("%s -v=9 printed a piece of %s (%q)", name, what, piece)
				}
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"chat", "gpt-5"}, `unknown chat app "gpt-5" in environment sandbox (apps with smoke.aidev.io/chat-service: raw-vllm)`},
			{[]string{"chat", "raw-vllm", "--key-secret", "serving/nope:api-key"}, "Secret serving/nope does not exist"},
			{[]string{"chat", "raw-vllm", "--key-secret", "serving/vllm-api-key:token"}, `Secret serving/vllm-api-key has no key "token"`},
			{[]string{"chat", "--url", "localhost:8000/v1", "--key-env", "X"}, `--url "localhost:8000/v1": want http(s)://host[:port]`},
			{[]string{"chat", "raw-vllm", "--max-tokens", "4"}, "--max-tokens 4: use 16 or more"},
			{[]string{"run"}, "run needs --profile"},
		} {
			r := plugin("kubectl-smoke", tc.args...)
			if r.Code != 1 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%v: want exit 1 and %q: %s", tc.args, tc.want, r)
			}
			if strings.Contains(r.Stdout+r.Stderr, string(key)) {
				t.Fatal("the key was printed")
			}
		}
	})
}

// A real API server whose Argo CD lost a CRD: doctor names the check and the CRD.
func TestSmokeDoctorNamesAMissingCRD(t *testing.T) {
	s := sandbox.Need(t, sb)
	t.Parallel()
	dir, out, err := sandbox.RunScript(t, "up.sh", nil, []string{"KP_SANDBOX_ONLY=apiserver"})
	if err != nil {
		t.Fatalf("starting a bare API server: %v\n%s", err, out)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kubectl := func(args ...string) {
		t.Helper()
		cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, b)
		}
	}
	crds := s.Env["KP_ARGOCD_CRDS"]
	kubectl("apply", "--server-side", "-f", crds)
	kubectl("delete", "crd", "applicationsets.argoproj.io")
	r := sandbox.RunPlugin(t, time.Minute, append(os.Environ(), "KUBECONFIG="+kubeconfig),
		"kubectl-smoke", "doctor", "-o", "json", "--env", "sandbox", "--dir", filepath.Join(s.ProjectDir, "clusters"))
	c := checks(t, r)["argocd-crds"]
	if r.Code != 1 || c.Status != "FAIL" || !strings.Contains(c.Message, "missing CRD(s) applicationsets.argoproj.io") {
		t.Fatalf("doctor without the ApplicationSet CRD: %+v\n%s", c, r)
	}
}

// leakedPiece returns the first n-character piece of secret found in text.
func leakedPiece(text, secret string, n int) string {
	for i := 0; i+n <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+n]) {
			return secret[i : i+n]
		}
	}
	return ""
}

// adminToken is the bearer token of the sandbox's admin kubeconfig.
func adminToken(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	if s.Config.BearerToken == "" {
		t.Fatal("the sandbox's kubeconfig has no token")
	}
	return s.Config.BearerToken
}
