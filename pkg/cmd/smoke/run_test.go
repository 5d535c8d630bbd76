package smoke_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// run runs `kubectl smoke run` with args over h and compares the whole result,
// latencies and local ports normalized, with testdata/<golden>.golden.
func run(t *testing.T, h *clitest.Harness, golden string, args ...string) clitest.Result {
	t.Helper()
	r := h.Run(smoke.NewCmd, clitest.Args(t, "sandbox", append([]string{"run"}, args...)...)...)
	clitest.Golden(t, golden, normalize(r.String()))
	return r
}

// doctor passes, then the chat probe of every model the profile serves
// (raw-vllm) runs and passes; --junit holds both.
func TestRunServingPasses(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
	allow(h, smoketest.AllowAll)
	h.Forward = smoketest.ForwardTo(t, smoketest.ChatServer(t, smoketest.Answers("Kubernetes runs containers.")))
	junit := filepath.Join(t.TempDir(), "smoke.xml")
	wantExit(t, run(t, h, "run-serving-pass", "--profile", "serving", "--junit", junit), 0)
	xml, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "run-serving-pass-junit.xml", normalize(string(xml)))
}

func TestRunJSON(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
	allow(h, smoketest.AllowAll)
	h.Forward = smoketest.ForwardTo(t, smoketest.ChatServer(t, smoketest.Answers("Kubernetes runs containers.")))
	wantExit(t, run(t, h, "run-serving-pass-json", "--profile", "serving", "-o", "json"), 0)
}

// A failed doctor check skips the chat probes: their failure would only repeat it.
func TestRunSkipsChatWhenDoctorFailed(t *testing.T) {
	objs := smoketest.Without(healthy(t, "serving"), func(o runtime.Object) bool { _, ok := o.(*storagev1.StorageClass); return ok })
	h := clitest.New(t, "kubectl-smoke", objs...)
	allow(h, smoketest.AllowAll)
	h.Forward = func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error) {
		t.Fatal("the port-forward must not open when doctor failed")
		return nil, nil
	}
	wantExit(t, run(t, h, "run-doctor-failed", "--profile", "serving"), 1)
}

// A chat probe that fails (the key refused, the port-forward refused, the Secret
// missing) fails the run with the fix to try; a WARN from doctor does not stop it.
func TestRunChatFails(t *testing.T) {
	for _, tc := range []struct {
		golden  string
		objs    []runtime.Object
		forward func(*testing.T) func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error)
	}{
		{"run-chat-key-refused", append(smoketest.Without(healthy(t, "serving"), isKeySecret), smoketest.KeySecret("sk-revoked-key-000000000000000000000000000000000")),
			func(t *testing.T) func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error) {
				return smoketest.ForwardTo(t, smoketest.ChatServer(t, smoketest.Answers("unused")))
			}},
		{"run-chat-port-forward-fails", healthy(t, "serving"),
			func(*testing.T) func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error) {
				return func(context.Context, *kube.Client, string, string, int32) (*kube.Forward, error) {
					return nil, errors.New("service serving/raw-vllm does not exist (is the app synced?)")
				}
			}},
		{"run-chat-secret-missing", smoketest.Without(healthy(t, "serving"), isKeySecret), nil},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", tc.objs...)
			// Only the chat probe is denied its port-forward: rbac warns, doctor passes.
			allow(h, func(ra authv1.ResourceAttributes) bool { return ra.Subresource != "portforward" })
			if tc.forward != nil {
				h.Forward = tc.forward(t)
			}
			wantExit(t, run(t, h, tc.golden, "--profile", "serving"), 1)
		})
	}
}

func isKeySecret(o runtime.Object) bool { _, ok := o.(*corev1.Secret); return ok }

// A profile that serves no model runs doctor only.
func TestRunPlatformProfileHasNoChat(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "platform")...)
	allow(h, smoketest.AllowAll)
	wantExit(t, run(t, h, "run-platform", "--profile", "platform"), 0)
}

func TestRunFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"run-no-profile", nil},
		{"run-unknown-profile", []string{"--profile", "nope"}},
		{"run-timeout-zero", []string{"--profile", "serving", "--timeout", "0"}},
		{"run-timeout-negative", []string{"--profile", "serving", "--timeout", "-1m"}},
		{"run-bad-output", []string{"--profile", "serving", "-o", "table"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke")
			wantExit(t, run(t, h, tc.golden, tc.args...), 1)
		})
	}
}
