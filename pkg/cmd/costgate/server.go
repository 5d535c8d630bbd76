package costgate

import (
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/grpcclient"
)

// argoCD returns the client of Argo CD's API, for server mode (argocd
// costgate without --core; kubectl costgate with --argocd-server).
func (c *common) argoCD() (*grpcclient.Client, error) {
	timeout, err := c.RequestTimeout()
	if err != nil {
		return nil, err
	}
	a := c.ArgoCD.Resolved(c.Getenv)
	return grpcclient.New(grpcclient.Options{
		RequestTimeout: timeout,
		Server:         a.Server, AuthToken: a.AuthToken, GRPCWeb: a.GRPCWeb, GRPCWebRootPath: a.GRPCWebRootPath,
		Insecure: a.Insecure, PlainText: a.PlainText, Context: a.Context, ConfigPath: a.ConfigPath, UserAgent: c.Plugin,
		ServerFlag: a.ServerFlag(),
	})
}
