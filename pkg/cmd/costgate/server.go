package costgate

import (
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/server"
)

// argoCD returns the client of Argo CD's API, for server mode (argocd
// costgate without --core; kubectl costgate with --argocd-server).
func (c *common) argoCD() (*server.Syncer, error) {
	a := c.ArgoCD.Resolved(c.Getenv)
	return server.New(server.Options{
		Server: a.Server, AuthToken: a.AuthToken, GRPCWeb: a.GRPCWeb, GRPCWebRootPath: a.GRPCWebRootPath,
		Insecure: a.Insecure, PlainText: a.PlainText, Context: a.Context, ConfigPath: a.ConfigPath, UserAgent: c.Plugin,
		ServerFlag: a.ServerFlag(),
	})
}
