package smoke

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// chatOver is a Chat of the sandbox with the defaults, over a fake cluster
// holding objs, whose port-forward reaches s.
func chatOver(t *testing.T, s *httptest.Server, objs ...runtime.Object) Chat {
	t.Helper()
	fake := kubetest.NewClient(objs...)
	c := NewChat()
	c.Env = smoketest.Sandbox(t, clusters)
	c.Client = func() (*kube.Client, error) { return fake.Client, nil }
	c.Getenv = func(string) string { return "" }
	if s != nil {
		c.Forward = smoketest.ForwardTo(t, s)
	}
	return c
}

// summary is a report's verdict without what varies (latencies, the local port).
func summary(r ChatReport) string {
	return r.Status + " " + r.Model + " " + r.Answer + " via " + r.Via
}

func TestChatRunPasses(t *testing.T) {
	s := smoketest.ChatServer(t, smoketest.Answers("Kubernetes runs containers."))
	c := chatOver(t, s, smoketest.KeySecret(smoketest.APIKey))
	c.App = "raw-vllm"
	rep, err := c.Run(context.Background())
	want := "PASS qwen2.5-0.5b Kubernetes runs containers. via port-forward to pod serving/raw-vllm-7d9f8-abcde:8000 (service serving/raw-vllm:8000)"
	if err != nil || summary(rep) != want {
		t.Errorf("got %q, %v\nwant %q", summary(rep), err, want)
	}
}

// --url-insecure-skip-tls-verify reaches a server whose certificate no CA signs.
func TestChatRunInsecureURL(t *testing.T) {
	s := httptest.NewUnstartedServer(smoketest.ChatServer(t, smoketest.Answers("ok then")).Config.Handler)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	s.StartTLS()
	defer s.Close()
	c := chatOver(t, nil)
	c.URL, c.KeyEnv, c.Model = s.URL, "KEY", "qwen"
	c.Getenv = func(string) string { return smoketest.APIKey }
	rep, _ := c.Run(context.Background())
	if rep.Status != Fail {
		t.Fatalf("a self-signed certificate was accepted without Insecure: %+v", rep)
	}
	c.Insecure = true
	rep, err := c.Run(context.Background())
	if err != nil || summary(rep) != "PASS qwen ok then via " {
		t.Errorf("got %q, %v", summary(rep), err)
	}
}

func TestChatRunSetupErrors(t *testing.T) {
	noForward := func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error) {
		t.Fatal("the port-forward must not open")
		return nil, nil
	}
	for _, tc := range []struct {
		name  string
		setup func(*Chat)
		want  string
	}{
		{"unknown app", func(c *Chat) { c.App = "nope" },
			`unknown chat app "nope" in environment sandbox (apps with smoke.aidev.io/chat-service: raw-vllm)`},
		{"no cluster", func(c *Chat) {
			c.App = "raw-vllm"
			c.Client = func() (*kube.Client, error) { return nil, errors.New("kubeconfig: no configuration has been provided") }
		}, "kubeconfig: no configuration has been provided"},
		{"Secret missing", func(c *Chat) { c.App = "raw-vllm" }, "Secret serving/vllm-api-key does not exist (the key for the chat probe)"},
		{"bad --key-secret", func(c *Chat) { c.App, c.KeySecret = "raw-vllm", "serving/vllm-api-key" },
			`"serving/vllm-api-key" is not NAMESPACE/NAME:KEY`},
		{"key env empty", func(c *Chat) { c.App, c.KeyEnv = "raw-vllm", "VLLM_API_KEY" }, "--key-env VLLM_API_KEY: the variable is unset or empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := chatOver(t, nil)
			c.Forward = noForward
			tc.setup(&c)
			if _, err := c.Run(context.Background()); err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// Without a Forward the probe opens its own through the API server; over the
// fake, the Service lookup is the hop that fails, and the report says so.
func TestChatRunDefaultForwardNamesTheHop(t *testing.T) {
	c := chatOver(t, nil, smoketest.KeySecret(smoketest.APIKey))
	c.App = "raw-vllm"
	rep, err := c.Run(context.Background())
	want := ChatReport{Status: Fail, URL: "service serving/raw-vllm:8000", Message: "port-forward: service serving/raw-vllm does not exist (is the app synced?)"}
	if err != nil || rep != want {
		t.Errorf("got %+v, %v\nwant %+v", rep, err, want)
	}
}

// The port-forward gets its own bound: a hung one does not eat the probe's timeout.
func TestChatRunBoundsThePortForward(t *testing.T) {
	c := chatOver(t, nil, smoketest.KeySecret(smoketest.APIKey))
	c.App = "raw-vllm"
	var deadline time.Time
	c.Forward = func(ctx context.Context, _ *kube.Client, _, _ string, _ int32) (*kube.Forward, error) {
		deadline, _ = ctx.Deadline()
		return nil, errors.New("refused")
	}
	start := time.Now()
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := deadline.Sub(start); d <= 0 || d > kube.DefaultRequestTimeout+time.Second {
		t.Errorf("the port-forward's deadline is %s away, want about %s", d, kube.DefaultRequestTimeout)
	}
}
