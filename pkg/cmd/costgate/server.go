package costgate

import (
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/server"
)

// argoCD returns the client of Argo CD's API when the command runs in server
// mode (argocd costgate without --core; kubectl costgate with --argocd-server
// or ARGOCD_SERVER); ok is false for core mode.
func (c *common) argoCD() (*server.Syncer, bool, error) {
	if !c.ArgoCD.ServerMode(c.Getenv) {
		return nil, false, nil
	}
	a := c.ArgoCD.Resolved(c.Getenv)
	s, err := server.New(server.Options{
		Server: a.Server, AuthToken: a.AuthToken, GRPCWeb: a.GRPCWeb, GRPCWebRootPath: a.GRPCWebRootPath,
		Insecure: a.Insecure, PlainText: a.PlainText, Context: a.Context, ConfigPath: a.ConfigPath, UserAgent: c.Plugin,
	})
	return s, true, err
}
