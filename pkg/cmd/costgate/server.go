package costgate

import (
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/grpcclient"
)

// argoCD returns the client of Argo CD's API, for server mode (argocd
// costgate without --core; kubectl costgate with --argocd-server), made from
// the same settings as profile's and smoke's HTTP client.
func (c *common) argoCD() (*grpcclient.Client, error) {
	s, err := c.ArgoSettings()
	if err != nil {
		return nil, err
	}
	return grpcclient.New(s, c.Getenv)
}
