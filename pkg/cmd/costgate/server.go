package costgate

import (
	"github.com/spf13/pflag"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/server"
)

// serverFlags select server mode: Argo CD's own API instead of the Kubernetes API.
// --server is kubectl's (the Kubernetes API server), so Argo CD's is --argocd-server.
type serverFlags struct {
	Server    string
	AuthToken string
	GRPCWeb   bool
	Insecure  bool
	PlainText bool
}

func (f *serverFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Server, "argocd-server", "", "Argo CD server address, for server mode (default $ARGOCD_SERVER; --server is kubectl's API server flag)")
	fs.StringVar(&f.AuthToken, "auth-token", "", "Argo CD token for server mode (default $ARGOCD_AUTH_TOKEN, else the argocd CLI's config)")
	fs.BoolVar(&f.GRPCWeb, "grpc-web", false, "Server mode: use gRPC-web, for Argo CD behind proxies without HTTP/2")
	fs.BoolVar(&f.Insecure, "insecure", false, "Server mode: skip the Argo CD server's TLS certificate check")
	fs.BoolVar(&f.PlainText, "plaintext", false, "Server mode: talk to the Argo CD server without TLS")
}

// syncer returns a server-mode syncer when a server is configured (flag or
// ARGOCD_SERVER); ok is false for core mode.
func (f *serverFlags) syncer(getenv func(string) string) (argocd.Syncer, bool, error) {
	addr := f.Server
	if addr == "" {
		addr = getenv("ARGOCD_SERVER")
	}
	if addr == "" {
		return nil, false, nil
	}
	token := f.AuthToken
	if token == "" {
		token = getenv("ARGOCD_AUTH_TOKEN")
	}
	s, err := server.New(server.Options{Server: addr, AuthToken: token, GRPCWeb: f.GRPCWeb, Insecure: f.Insecure, PlainText: f.PlainText})
	return s, true, err
}
