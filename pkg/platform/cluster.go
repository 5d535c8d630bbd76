package platform

import (
	"fmt"
	"net/url"
	"strings"
)

// validateCluster checks platform.yaml's cluster: block as written.
func validateCluster(c *Cluster, bad fieldError) error {
	if c == nil {
		return nil
	}
	if c.Context == "" && c.Server == "" {
		return bad("cluster", "needs context (the kubeconfig context) or server (the API server URL), or both")
	}
	if c.Server != "" {
		if _, err := NormalizeServer(c.Server); err != nil {
			return bad("cluster.server", "%v", err)
		}
	}
	if h := c.Hub; h != nil {
		if h.Context == "" && h.Server == "" {
			return bad("cluster.hub", "needs context or server: the cluster whose Argo CD deploys this environment")
		}
		if h.Server != "" {
			if _, err := NormalizeServer(h.Server); err != nil {
				return bad("cluster.hub.server", "%v", err)
			}
		}
		if h.Destination == "" {
			return bad("cluster.hub.destination", "must name this cluster as the hub's Argo CD knows it (its Applications' spec.destination.name)")
		}
	}
	return nil
}

// NormalizeServer is an API server URL in one spelling (scheme, lower-case
// host, the default port spelled out, no trailing slash), so two spellings of
// one server compare equal.
func NormalizeServer(server string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not an API server URL (https://host[:port])", server)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host + ":" + port + strings.TrimRight(u.Path, "/"), nil
}

// ClusterTarget is one cluster an environment's verbs act on: where its
// Applications live (Argo CD's side) or where its workloads run.
type ClusterTarget struct {
	// Role says which: "argocd" or "workloads" (the same cluster unless a hub
	// deploys the environment).
	Role    string
	Context string
	Server  string
}

// ArgoCDCluster is the cluster whose Argo CD holds the environment's
// ApplicationSets and Applications: the hub's when there is one.
func (e *Env) ArgoCDCluster() (ClusterTarget, bool) {
	c := e.Descriptor.Cluster
	switch {
	case c == nil:
		return ClusterTarget{}, false
	case c.Hub != nil:
		return ClusterTarget{Role: "argocd", Context: c.Hub.Context, Server: c.Hub.Server}, true
	}
	return ClusterTarget{Role: "argocd", Context: c.Context, Server: c.Server}, true
}

// WorkloadCluster is the cluster the environment's workloads run on.
func (e *Env) WorkloadCluster() (ClusterTarget, bool) {
	c := e.Descriptor.Cluster
	if c == nil {
		return ClusterTarget{}, false
	}
	return ClusterTarget{Role: "workloads", Context: c.Context, Server: c.Server}, true
}

// Spoke says whether a hub deploys the environment to another cluster.
func (e *Env) Spoke() bool { return e.Descriptor.Cluster != nil && e.Descriptor.Cluster.Hub != nil }
