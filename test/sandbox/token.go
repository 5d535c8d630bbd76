package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	sigyaml "sigs.k8s.io/yaml"
)

// TokenKubeconfig writes a kubeconfig for the sandbox's API server that holds
// only a token of ServiceAccount namespace/name (a TokenRequest, valid an
// hour): what runs with it can do what that account's roles grant, no more.
func (s *Sandbox) TokenKubeconfig(t testing.TB, namespace, name string) string {
	t.Helper()
	tok, err := s.Kube.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", namespace, name, err)
	}
	admin, err := os.ReadFile(s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := sigyaml.Unmarshal(admin, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["users"] = []any{map[string]any{"name": name, "user": map[string]any{"token": tok.Status.Token}}}
	cfg["contexts"] = []any{map[string]any{"name": name, "context": map[string]any{"cluster": "sandbox", "user": name}}}
	cfg["current-context"] = name
	b, _ := sigyaml.Marshal(cfg)
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
