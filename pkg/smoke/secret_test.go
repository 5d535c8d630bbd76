package smoke

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

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
			`error: GET Secret serving/vllm-api-key: the answer is not a Secret in JSON: invalid character 's' looking for beginning of value (not found: false)`},
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

// The doctor's existence check over HTTP: 200 exists, 404 does not, anything
// else is an error; it asks for metadata only.
func TestSecretExistsOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{200, "true <nil>"},
		{404, "false <nil>"},
		{403, "false Forbidden (get secrets vllm-api-key)"},
	} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept") != partialMetadataJSON {
				t.Errorf("Accept %q, want %q", r.Header.Get("Accept"), partialMetadataJSON)
			}
			w.WriteHeader(tc.status)
		}))
		exists, err := secretExists(context.Background(), restClient(t, s.URL), "serving", "vllm-api-key")
		s.Close()
		if got := fmt.Sprint(exists, " ", err); got != tc.want {
			t.Errorf("HTTP %d: got %s, want %s", tc.status, got, tc.want)
		}
	}
}

// A Secret created with kubectl apply carries its data in an annotation, so
// even its metadata must not be logged: the doctor's serving-secrets check, at
// -v=9 against a real API server, logs no 12-character piece of the key.
func TestDoctorSecretsCheckLogsNoKey(t *testing.T) {
	lastApplied := fmt.Sprintf(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"vllm-api-key","namespace":"serving"},"data":{"api-key":%q}}`,
		base64.StdEncoding.EncodeToString([]byte(smoketest.APIKey)))
	meta, _ := json.Marshal(map[string]any{
		"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
		"metadata": map[string]any{"name": "vllm-api-key", "namespace": "serving",
			"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": lastApplied}},
	})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(meta)
	}))
	defer s.Close()
	logs := smoketest.CaptureKlog(t, 9)
	c := restClient(t, s.URL)
	var err error
	if c.Metadata, err = metadata.NewForConfig(c.Config); err != nil {
		t.Fatal(err)
	}
	d := &Doctor{Client: c, Env: smoketest.Sandbox(t, clusters)}
	check := d.secrets(context.Background())
	klog.Flush()
	if check.Status != Pass {
		t.Fatalf("got %+v", check)
	}
	if !strings.Contains(logs.String(), "/api/v1/namespaces/serving/secrets/vllm-api-key") {
		t.Fatalf("klog at -v=9 did not log the request; the test proves nothing:\n%s", logs)
	}
	if found := smoketest.Leaks(logs.String(), smoketest.APIKey); len(found) > 0 {
		t.Errorf("the log holds %d piece(s) of the key, e.g. %q:\n%s", len(found), found[0], logs)
	}
}
