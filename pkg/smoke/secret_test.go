package smoke

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// restClient is a kube.Client whose typed clientset talks HTTP to server.
func restClient(t *testing.T, server string) *kube.Client {
	t.Helper()
	cfg := &rest.Config{Host: server}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &kube.Client{Config: cfg, Typed: typed, Server: server, Context: "test"}
}

// The Secret reader over HTTP: what each answer of the API server becomes.
func TestReadSecretOverHTTP(t *testing.T) {
	const path = "/api/v1/namespaces/serving/secrets/vllm-api-key"
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string // the Secret's api-key, or the error
	}{
		{"found", 200, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"vllm-api-key","namespace":"serving"},"data":{"api-key":"c2stdGVzdA=="}}`, "sk-test"},
		{"not found", 404, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404,"details":{"name":"vllm-api-key","kind":"secrets"},"message":"secrets \"vllm-api-key\" not found"}`,
			`error: secrets "vllm-api-key" not found (not found: true)`},
		{"forbidden", 403, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"Forbidden","code":403,"message":"secrets \"vllm-api-key\" is forbidden: User \"viewer\" cannot get resource \"secrets\""}`,
			`error: secrets "vllm-api-key" is forbidden: User "viewer" cannot get resource "secrets" (not found: false)`},
		{"bad gateway, no Status", 502, `<html>bad gateway</html>`,
			`error: an error on the server ("Bad Gateway") has prevented the request from succeeding (get secrets vllm-api-key) (not found: false)`},
		{"not JSON", 200, `sk-test-in-plain-text`,
			`error: GET ` + path + `: the answer is not a Secret in JSON: invalid character 's' looking for beginning of value (not found: false)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != path || r.Header.Get("Accept") != "application/json" {
					t.Errorf("got %s with Accept %q", r.URL.Path, r.Header.Get("Accept"))
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer s.Close()
			secret, err := readSecret(context.Background(), restClient(t, s.URL), "serving", "vllm-api-key")
			got := ""
			if err != nil {
				got = fmt.Sprintf("error: %v (not found: %v)", err, apierrors.IsNotFound(err))
			} else {
				got = string(secret.Data["api-key"])
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestReadSecretServerGone(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close()
	if _, err := readSecret(context.Background(), restClient(t, url), "serving", "vllm-api-key"); err == nil {
		t.Error("no error from a server that is gone")
	}
}

// The fakes hold no HTTP: their typed clientset answers directly.
func TestReadSecretFromTheFake(t *testing.T) {
	fake := kubetest.NewClient(smoketest.KeySecret(smoketest.APIKey))
	s, err := readSecret(context.Background(), fake.Client, "serving", "vllm-api-key")
	if err != nil || string(s.Data["api-key"]) != smoketest.APIKey+"\n" {
		t.Errorf("got %v, %v", s, err)
	}
}
