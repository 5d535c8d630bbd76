package platform

// Host is the CLI the plugins run under, kubectl or argocd: the commands a
// message tells a person to run are named for it, where the message is made.
type Host string

// The hosts a plugin binary serves (one binary, installed under both names).
const (
	HostKubectl Host = "kubectl"
	HostArgoCD  Host = "argocd"
)

// Cmd names a plugin as the person runs it: Cmd("costgate") is "kubectl
// costgate", or "argocd costgate" under argocd. The zero Host is kubectl.
func (h Host) Cmd(plugin string) string {
	if h == "" {
		h = HostKubectl
	}
	return string(h) + " " + plugin
}
