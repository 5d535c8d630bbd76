package connection_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/connection"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/grpcclient"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
)

const config = `current-context: sbx
contexts:
- name: other
  server: nowhere:1
  user: other
- name: sbx
  server: argocd.example:8443
  user: sbx
servers:
- server: argocd.example:8443
  plain-text: true
  insecure: true
  grpc-web-root-path: /argo-cd
users:
- name: sbx
  auth-token: token-of-sbx
- name: other
  auth-token: token-of-other
`

func writeConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Both Argo CD clients are made from one reading of the settings: the same
// file, context and environment give the same server, transport and token.
func TestBothClientsResolveTheSameConfigTheSameWay(t *testing.T) {
	path := writeConfig(t)
	for _, tc := range []struct {
		name string
		in   connection.Settings
		env  map[string]string
	}{
		{"current context", connection.Settings{ConfigPath: path}, nil},
		{"named context", connection.Settings{ConfigPath: path, Context: "other"}, nil},
		{"token from the environment", connection.Settings{}, map[string]string{"ARGOCD_CONFIG_DIR": filepath.Dir(path), "ARGOCD_AUTH_TOKEN": "env-token"}},
		{"flags win", connection.Settings{ConfigPath: path, Server: "flag.example:443", AuthToken: "flag-token"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := rest.New(tc.in, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			g, err := grpcclient.New(tc.in, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if r.Settings() != g.Settings() {
				t.Errorf("rest resolved %+v\ngrpc resolved %+v", redact(r.Settings()), redact(g.Settings()))
			}
		})
	}
	s, err := connection.Settings{ConfigPath: path}.Resolve(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := connection.Settings{Server: "argocd.example:8443", AuthToken: "token-of-sbx", GRPCWeb: true, GRPCWebRootPath: "/argo-cd", PlainText: true, Insecure: true,
		Context: "sbx", ConfigPath: path, ServerFlag: "--server", ConnectTimeout: connection.DefaultConnectTimeout, RequestTimeout: connection.DefaultRequestTimeout,
		ConfigRead: path, TokenFromConfig: true}
	if s != want {
		t.Errorf("resolved %+v\nwant %+v", redact(s), redact(want))
	}
}

func redact(s connection.Settings) connection.Settings {
	if s.AuthToken != "" {
		s.AuthToken = "<" + s.AuthToken[:4] + "…>"
	}
	return s
}

// What cannot be resolved says so, naming the running CLI's flag.
func TestMessagesNameTheRunningCLIsFlags(t *testing.T) {
	none := env(map[string]string{"ARGOCD_CONFIG_DIR": filepath.Join(t.TempDir(), "none")})
	for _, flag := range []string{"--server", "--argocd-server"} {
		for _, newClient := range []func(connection.Settings, func(string) string) error{
			func(s connection.Settings, e func(string) string) error { _, err := rest.New(s, e); return err },
			func(s connection.Settings, e func(string) string) error { _, err := grpcclient.New(s, e); return err },
		} {
			err := newClient(connection.Settings{ServerFlag: flag}, none)
			want := "no Argo CD server or token: pass " + flag + " and --auth-token"
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %v, want %s…", err, want)
			}
		}
	}
	path := writeConfig(t)
	if _, err := (connection.Settings{ConfigPath: path, Context: "nope"}).Resolve(none); err == nil || err.Error() != "argocd config "+path+`: no context "nope"` {
		t.Errorf("unknown context: %v", err)
	}
	if _, err := (connection.Settings{ConfigPath: path + ".missing"}).Resolve(none); err == nil || !strings.Contains(err.Error(), "argocd config "+path+".missing: open") {
		t.Errorf("missing config: %v", err)
	}
}
