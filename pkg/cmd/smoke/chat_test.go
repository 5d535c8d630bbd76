package smoke_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// chat runs `kubectl smoke chat` with args over h and compares the whole
// result, latencies and local ports normalized, with testdata/<golden>.golden.
func chat(t *testing.T, h *clitest.Harness, golden string, args ...string) clitest.Result {
	t.Helper()
	r := h.Run(smoke.NewCmd, clitest.Args(t, "sandbox", append([]string{"chat"}, args...)...)...)
	clitest.Golden(t, golden, normalize(r.String()))
	if strings.Contains(r.String(), smoketest.APIKey) {
		t.Errorf("the key is in the output:\n%s", r)
	}
	return r
}

// The probe of raw-vllm through the port-forward, with the key of the catalog's Secret.
func TestChatApp(t *testing.T) {
	for _, tc := range []struct {
		golden string
		secret string // the key the Secret holds
		answer http.HandlerFunc
		args   []string
		exit   int
	}{
		{"chat-pass", smoketest.APIKey, smoketest.Answers("Kubernetes runs containers across a cluster."), nil, 0},
		{"chat-pass-json", smoketest.APIKey, smoketest.Answers("Kubernetes runs containers across a cluster."), []string{"-o", "json"}, 0},
		{"chat-pass-yaml", smoketest.APIKey, smoketest.Answers("Kubernetes runs containers across a cluster."), []string{"-o", "yaml", "--model", "qwen"}, 0},
		{"chat-stream", smoketest.APIKey, smoketest.Answers("Kubernetes orchestrates containers."), []string{"--stream"}, 0},
		{"chat-key-refused", "sk-revoked-key-000000000000000000000000000000000", smoketest.Answers("unused"), nil, 1},
		{"chat-empty-choices", smoketest.APIKey, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c","object":"chat.completion","model":"qwen2.5-0.5b","choices":[]}`)
		}, nil, 1},
		{"chat-server-error", smoketest.APIKey, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"message":"the model is still loading"}}`)
		}, nil, 1},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", smoketest.KeySecret(tc.secret))
			h.Forward = smoketest.ForwardTo(t, smoketest.ChatServer(t, tc.answer))
			wantExit(t, chat(t, h, tc.golden, append([]string{"raw-vllm"}, tc.args...)...), tc.exit)
		})
	}
}

// --url with --key-env needs no cluster at all: building the client would fail.
func TestChatURLWithKeyEnv(t *testing.T) {
	s := smoketest.ChatServer(t, smoketest.Answers("A container orchestrator."))
	h := clitest.New(t, "kubectl-smoke")
	h.ClientErr = errors.New("kubeconfig: no configuration has been provided")
	h.Environ["LITELLM_API_KEY"] = smoketest.APIKey
	wantExit(t, chat(t, h, "chat-url-key-env", "--url", s.URL, "--key-env", "LITELLM_API_KEY", "--model", "qwen"), 0)
}

// --url with --key-secret reads the Secret named on the command line.
func TestChatURLWithKeySecret(t *testing.T) {
	s := smoketest.ChatServer(t, smoketest.Answers("A container orchestrator."))
	h := clitest.New(t, "kubectl-smoke", smoketest.KeySecret(smoketest.APIKey))
	wantExit(t, chat(t, h, "chat-url-key-secret", "--url", s.URL, "--key-secret", "serving/vllm-api-key:api-key", "--model", "qwen"), 0)
}

func TestChatSetupErrors(t *testing.T) {
	notReady := func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error) {
		return nil, errors.New("pod not Ready: service serving/raw-vllm has 1 pod(s), none Ready (is its cost gate up?)")
	}
	for _, tc := range []struct {
		golden  string
		objs    []runtime.Object
		environ map[string]string
		forward func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error)
		args    []string
	}{
		{golden: "chat-unknown-app", args: []string{"no-such-app"}},
		{golden: "chat-secret-missing", args: []string{"raw-vllm"}},
		{golden: "chat-secret-without-the-key", objs: []runtime.Object{smoketest.KeySecret(smoketest.APIKey)}, args: []string{"raw-vllm", "--key-secret", "serving/vllm-api-key:token"}},
		{golden: "chat-key-env-unset", args: []string{"raw-vllm", "--key-env", "VLLM_API_KEY"}},
		{golden: "chat-port-forward-fails", objs: []runtime.Object{smoketest.KeySecret(smoketest.APIKey)}, forward: notReady, args: []string{"raw-vllm"}},
		{golden: "chat-port-forward-fails-key-env", environ: map[string]string{"VLLM_API_KEY": smoketest.APIKey}, forward: notReady, args: []string{"raw-vllm", "--key-env", "VLLM_API_KEY"}},
		{golden: "chat-neither-app-nor-url"},
		{golden: "chat-app-and-url", args: []string{"raw-vllm", "--url", "http://127.0.0.1:1"}},
		{golden: "chat-url-not-http", args: []string{"--url", "ftp://example.com", "--key-env", "K"}},
		{golden: "chat-url-without-key", args: []string{"--url", "https://litellm.example.com"}},
		{golden: "chat-bad-key-secret", args: []string{"raw-vllm", "--key-secret", "vllm-api-key"}},
		{golden: "chat-max-tokens-tiny", args: []string{"raw-vllm", "--max-tokens", "8"}},
		{golden: "chat-bad-output", args: []string{"raw-vllm", "-o", "wide"}},
		{golden: "chat-timeout-zero", args: []string{"raw-vllm", "--timeout", "0"}},
		{golden: "chat-timeout-negative", args: []string{"raw-vllm", "--timeout", "-5s"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", tc.objs...)
			for k, v := range tc.environ {
				h.Environ[k] = v
			}
			h.Forward = tc.forward
			if h.Forward == nil {
				h.Forward = func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error) {
					t.Fatal("the port-forward must not open")
					return nil, nil
				}
			}
			wantExit(t, chat(t, h, tc.golden, tc.args...), 1)
		})
	}
}
