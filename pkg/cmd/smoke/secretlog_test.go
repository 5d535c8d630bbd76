package smoke_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// apiServer serves the chat key's Secret the way kube-apiserver does: as
// protobuf to a client that accepts it (client-go's typed clients prefer it),
// else as JSON. It records the Accept header of each Secret request.
type apiServer struct {
	*httptest.Server
	mu      sync.Mutex
	accepts []string
}

func newAPIServer(t *testing.T, secret *corev1.Secret) *apiServer {
	t.Helper()
	secret = secret.DeepCopy()
	secret.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/namespaces/serving/secrets/vllm-api-key" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound, Message: r.URL.Path + " not found"})
			return
		}
		s.mu.Lock()
		s.accepts = append(s.accepts, r.Header.Get("Accept"))
		s.mu.Unlock()
		mediaType := "application/json"
		if strings.Contains(r.Header.Get("Accept"), runtime.ContentTypeProtobuf) {
			mediaType = runtime.ContentTypeProtobuf
		}
		info, _ := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
		body, err := runtime.Encode(scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion), secret)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", mediaType)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

// kubeToken is the user's API server token, which no log may show either.
const kubeToken = "kube-token-of-the-smoke-user-7f3a9c"

// realClient is a kube.Client over client-go's REST clients, as kube.NewClient
// builds one from a kubeconfig, pointing at server.
func realClient(t *testing.T, server string) *kube.Client {
	t.Helper()
	cfg := &rest.Config{Host: server, BearerToken: kubeToken}
	c := &kube.Client{Config: cfg, Server: server, Context: "leak-test"}
	var err error
	if c.Typed, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.Metadata, err = metadata.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return c
}

// At -v=9 client-go logs every response body it decodes (a protobuf Secret as a
// hex dump whose ASCII column shows the key). The chat probe reads its Secret
// from a real API server here, with klog at -v=9, and no 12-character piece of
// the key (nor of the user's token) may appear in stdout, stderr or the log.
func TestChatNeverLogsTheKey(t *testing.T) {
	api := newAPIServer(t, smoketest.KeySecret(smoketest.APIKey))
	openai := smoketest.ChatServer(t, smoketest.Answers("Kubernetes runs containers."))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"app", []string{"chat", "raw-vllm", "-v=9"}},
		{"app --stream", []string{"chat", "raw-vllm", "--stream", "-v=9"}},
		{"url --key-secret -o json", []string{"chat", "--url", openai.URL, "--key-secret", "serving/vllm-api-key:api-key", "--model", "qwen", "-o", "json", "-v=9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := smoketest.CaptureKlog(t, 0)
			h := clitest.New(t, "kubectl-smoke")
			var out, errOut bytes.Buffer
			streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}
			f := h.Factory(streams)
			// Built on first use, after -v is parsed, as the plugin's factory does:
			// client-go decides then whether its transport logs requests.
			f.NewClient = func() (*kube.Client, error) { return realClient(t, api.URL), nil }
			f.Forward = smoketest.ForwardTo(t, openai)
			code := cli.Execute(context.Background(), smoke.NewCmd(f), streams, clitest.Args(t, "sandbox", tc.args...))
			klog.Flush()
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nlog:\n%s", code, &out, &errOut, logs)
			}
			// The log is on: the Secret's GET is in it, with its URL.
			if !strings.Contains(logs.String(), "/api/v1/namespaces/serving/secrets/vllm-api-key") {
				t.Fatalf("klog at -v=9 did not log the Secret's request; the test proves nothing:\n%s", logs)
			}
			for name, text := range map[string]string{"stdout": out.String(), "stderr": errOut.String(), "the klog output": logs.String()} {
				if found := smoketest.Leaks(text, smoketest.APIKey); len(found) > 0 {
					t.Errorf("%s holds %d piece(s) of the key, e.g. %q:\n%s", name, len(found), found[0], text)
				}
				if found := smoketest.Leaks(text, kubeToken); len(found) > 0 {
					t.Errorf("%s holds %d piece(s) of the API server token, e.g. %q:\n%s", name, len(found), found[0], text)
				}
			}
		})
	}
	// The Secret was asked for as JSON only, never protobuf.
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, accept := range api.accepts {
		if accept != "application/json" {
			t.Errorf("the Secret was requested with Accept %q, want application/json", accept)
		}
	}
}
