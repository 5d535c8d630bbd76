package platform

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

// validateCluster checks platform.yaml's cluster: block as written.
func validateCluster(c *Cluster, bad fieldError) error {
	if c == nil {
		return nil
	}
	if c.Context == "" && c.Server == "" && c.Hub == nil {
		return bad("cluster", "needs context (the kubeconfig context), server (the API server URL) or hub (the cluster whose Argo CD deploys it)")
	}
	for field, server := range map[string]string{"cluster.server": c.Server, "cluster.hub.server": hubServer(c.Hub)} {
		if server == "" {
			continue
		}
		if _, err := NormalizeServer(server); err != nil {
			return bad(field, "%v", err)
		}
	}
	return nil
}

func hubServer(h *Hub) string {
	if h == nil {
		return ""
	}
	return h.Server
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

// inClusterName and inClusterServer are how an Application names the cluster
// its Argo CD runs in.
const (
	inClusterName   = "in-cluster"
	inClusterServer = "https://kubernetes.default.svc"
)

// inferCluster reads where the catalog's Applications deploy. When they all
// go to one cluster other than Argo CD's own (a destination name other than
// in-cluster, a server other than the in-cluster one), a hub's Argo CD deploys
// this environment there: cluster.hub says so, and a note asks for the
// kubeconfig contexts init cannot know.
func (inf *Inference) inferCluster() {
	remote := map[string]bool{}
	var first string
	dir := filepath.Join(inf.EnvDir, inf.Descriptor.Catalog)
	groups, _ := os.ReadDir(dir)
	for _, g := range groups {
		files, _ := filepath.Glob(filepath.Join(dir, g.Name(), "*.y*ml"))
		for _, f := range files {
			if isKustomizationFile(filepath.Base(f)) {
				continue
			}
			docs, err := render.ReadFile(f)
			if err != nil {
				continue // the catalog's own checks report it
			}
			for _, d := range docs {
				if d["kind"] != "Application" {
					continue
				}
				dest, _, _ := unstructured.NestedStringMap(d, "spec", "destination")
				switch {
				case dest["name"] != "" && dest["name"] != inClusterName:
					remote["name "+dest["name"]] = true
				case dest["server"] != "" && strings.TrimSuffix(dest["server"], "/") != inClusterServer:
					remote["server "+dest["server"]] = true
				default:
					continue
				}
				if first == "" {
					first = inf.repoRel(f)
				}
			}
		}
	}
	switch len(remote) {
	case 0: // Argo CD's own cluster: nothing to infer (a context is the team's to add)
		return
	case 1:
	default:
		inf.Notes = append(inf.Notes, fmt.Sprintf("the catalog's Applications deploy to %d clusters (%s): a cluster: block names one; "+
			"an environment per cluster is what the plugins expect", len(remote), strings.Join(keys(remote), ", ")))
		return
	}
	kind, value, _ := strings.Cut(keys(remote)[0], " ")
	c := &Cluster{Hub: &Hub{}}
	if kind == "name" {
		c.Hub.Destination = value
	} else {
		c.Server = value
	}
	inf.Descriptor.Cluster = c
	inf.Notes = append(inf.Notes, fmt.Sprintf("the catalog's Applications deploy to the cluster %s %s of the hub's Argo CD (%s): cluster.hub says so; "+
		"add cluster.context (that cluster's kubeconfig context: costgate reaches the gates' targets through it) and cluster.hub.context "+
		"(the hub's, where the ApplicationSets and Applications live)", kind, value, first))
}
