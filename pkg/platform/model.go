package platform

// Descriptor is clusters/<env>/platform.yaml: the shape of one environment.
type Descriptor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Name of the environment; defaults to the folder name and must match it.
	Name string `json:"name,omitempty"`
	// Project is the AppProject every ApplicationSet and Application uses.
	Project string `json:"project"`
	// GroupsFile is the resolved group list the ApplicationSets' git-files
	// generators read, relative to the environment folder (default groups.yaml).
	GroupsFile string `json:"groupsFile,omitempty"`
	// Catalog is the folder holding one sub-folder of Application manifests per
	// group (default catalog).
	Catalog string `json:"catalog,omitempty"`
	// Config is the platform's config file (repoURL, revision, namespace,
	// features), relative to the environment folder (default config.yaml). It
	// may live elsewhere and hold other tools' keys too: they are ignored.
	Config string `json:"config,omitempty"`
	// AppSets is the folder that renders the AppProject and one ApplicationSet
	// per layer (default appsets/overlay): a kustomization, or a plain folder of
	// YAML manifests read as they are.
	AppSets string `json:"appsets,omitempty"`
	// AppSetsGenerated says whether resolve writes AppSets' kustomization.yaml
	// (an overlay of ../base that sets repoURL, revision and namespace from the
	// config). Default: true when AppSets is appsets/overlay, false for any
	// other folder, which is the team's own and never written.
	AppSetsGenerated *bool `json:"appsetsGenerated,omitempty"`
	// Projects is a folder, relative to the environment folder, that renders
	// the AppProject(s) the ApplicationSets use when the tree keeps them apart
	// from the appsets folder; render and apply include them first. Empty:
	// the appsets folder renders them, or the cluster has them already.
	Projects string `json:"projects,omitempty"`
	// CatalogGenerated says whether resolve writes each catalog folder's
	// kustomization.yaml: the group's Applications with the config applied (git
	// sources of this repository at config's repoURL and revision, ${key}
	// placeholders expanded, apps whose condition fails left out). Argo CD then
	// renders the group folder with kustomize. Default false: the catalog files
	// are deployed as they are.
	CatalogGenerated bool `json:"catalogGenerated,omitempty"`
	// Settings are the config file's keys the tree reads besides features:
	// conditions, warnings and ${key} placeholders may use only these.
	Settings []Setting `json:"settings,omitempty"`
	// SeededSecrets are Secrets made by hand, outside the tree (the one that lets
	// the secret store authenticate, for example): profile lint accepts a
	// workload reading them without an ExternalSecret.
	SeededSecrets []SeededSecret `json:"seededSecrets,omitempty"`
	// RemoteSecrets document the shape of the secret store's keys the
	// ExternalSecrets read: a plain value, or a JSON object of named
	// properties. profile lint checks every read against them; profile
	// secrets prints them and the commands that create them.
	RemoteSecrets []RemoteSecretShape `json:"remoteSecrets,omitempty"`
	// SameValue lists Secret keys that must hold one value (an OIDC client
	// secret that the identity provider and its client both read): profile
	// lint checks each set reads one remote key by one property.
	SameValue []SameValue `json:"sameValue,omitempty"`
	// Cluster names the cluster the environment runs on, so the plugins pick
	// it (its kubeconfig context when --context is not given) and refuse to
	// write to another. Nil: whatever the current context is.
	Cluster *Cluster `json:"cluster,omitempty"`
	// ArgoCD is what the tree needs of Argo CD (argocd_support.go); nil: nothing.
	ArgoCD *ArgoCDSupport `json:"argocd,omitempty"`
	// Layers in bring-up order; pruning goes in reverse.
	Layers []Layer `json:"layers"`
	// Profiles are additive: a profile holds the layers of the one it extends.
	Profiles []ProfileSpec `json:"profiles"`
}

// Layer is one ApplicationSet's worth of capability groups.
type Layer struct {
	Name   string  `json:"name"`
	Groups []Group `json:"groups"`
}

// Group is a capability group: a catalog folder of Applications, always on when
// Core, else switched by the config.yaml feature named Feature.
type Group struct {
	Name string `json:"name"`
	Core bool   `json:"core,omitempty"`
	// Feature is the features: key that switches the group (default: its name).
	Feature string `json:"feature,omitempty"`
	// Default is the group's state when config.yaml does not name its feature.
	Default bool `json:"default,omitempty"`
	// When holds the settings the group also requires (all of them): a group
	// whose feature is on stays off unless each setting has one of the values.
	When Condition `json:"when,omitempty"`
	// Needs says, in one line, what the group needs from the rest of the
	// platform; resolve prints it when the group is on.
	Needs string `json:"needs,omitempty"`
	// Warn lists the warnings resolve prints when the group is on and a
	// condition on the settings holds (an empty domain, a DNS provider of none).
	Warn []GroupWarning `json:"warn,omitempty"`
	// Apps holds conditions on single Applications of the group's catalog: an
	// app whose condition fails is left out of the group (needs
	// catalogGenerated, which writes the group's kustomization without it).
	Apps map[string]AppRule `json:"apps,omitempty"`
}

// Setting is a key of the config file the tree reads: a dotted path
// (dns.provider), its default when the file does not set it, and the values it
// may take (any when empty).
type Setting struct {
	Key         string   `json:"key"`
	Default     string   `json:"default,omitempty"`
	Values      []string `json:"values,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Condition maps settings to the values that satisfy them: it holds when every
// setting has one of its values ("" is the empty value).
type Condition map[string]StringList

// GroupWarning is printed by resolve when its group is on and When holds.
type GroupWarning struct {
	When    Condition `json:"when"`
	Message string    `json:"message"`
}

// AppRule is a condition on one catalog Application.
type AppRule struct {
	When Condition `json:"when"`
}

// SeededSecret is a Secret created by hand, with why it cannot come from the
// secret store.
type SeededSecret struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Reason    string `json:"reason,omitempty"`
}

// Cluster is where an environment runs: its workloads, and its Applications
// unless a hub's Argo CD in another cluster deploys them.
type Cluster struct {
	// Context is the kubeconfig context of the environment's cluster.
	Context string `json:"context,omitempty"`
	// Server is the API server URL the cluster must have: a writing verb
	// refuses a client whose server differs. Empty: the Context's server.
	Server string `json:"server,omitempty"`
	// ArgoCDServer is the Argo CD API that deploys the environment (server
	// mode's default when --server is not given; a different one is refused
	// for writes).
	ArgoCDServer string `json:"argocdServer,omitempty"`
	// Hub, when set, is the cluster whose Argo CD deploys this environment
	// to this cluster (Argo CD's cluster Secrets): the ApplicationSets and
	// Applications live there, the workloads here.
	Hub *Hub `json:"hub,omitempty"`
}

// Hub is the cluster running the Argo CD that deploys an environment; no
// context and no server: the current context.
type Hub struct {
	Context string `json:"context,omitempty"`
	Server  string `json:"server,omitempty"`
	// Destination is the name the hub's cluster Secret gives the
	// environment's cluster: its Applications' spec.destination.name.
	Destination string `json:"destination,omitempty"`
}

// RemoteSecretShape is a key of the secret store as the platform documents it.
type RemoteSecretShape struct {
	Key string `json:"key"`
	// Properties are the fields of the key's JSON object; none: a plain value.
	Properties  []string `json:"properties,omitempty"`
	Description string   `json:"description,omitempty"`
	// Hint says how to make the value (openssl rand -base64 32, the OAuth
	// client's secret): profile secrets -o script shows it at the prompt.
	Hint string `json:"hint,omitempty"`
}

// SameValue is a set of Secret keys (NAMESPACE/NAME:KEY) that must agree.
type SameValue struct {
	Reason  string   `json:"reason"`
	Secrets []string `json:"secrets"`
}

// StringList is a list of strings that YAML may also write as one scalar.
type StringList []string

// ProfileSpec is a profile as written: its own layers plus those it extends.
type ProfileSpec struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Extends     string   `json:"extends,omitempty"`
	Layers      []string `json:"layers"`
}

// Config is the platform's config file (clusters/<env>/config.yaml unless the
// descriptor says otherwise): where the platform's git repository is, and which
// features are on. Other top-level keys (the file may be shared with other
// tooling) are ignored.
type Config struct {
	RepoURL string `json:"repoURL"`
	// Revision is the git revision Argo CD reads; repoBranch says the same.
	Revision   string          `json:"revision"`
	RepoBranch string          `json:"repoBranch,omitempty"`
	Namespace  string          `json:"namespace"`
	Features   map[string]bool `json:"features"`
	// Raw is the whole file, for the settings the descriptor declares.
	Raw map[string]any `json:"-"`
}

// Profile is a profile with its layers resolved, in bring-up order.
type Profile struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Layers      []string `json:"layers"`
}

// ResolvedGroup is one entry of the groups file the ApplicationSets read. Enabled
// is a string because generator selectors match strings.
type ResolvedGroup struct {
	Name    string `json:"name"`
	Layer   string `json:"layer"`
	Enabled string `json:"enabled"`
	Path    string `json:"catalogPath"`
}

// App is one Argo CD Application manifest of the catalog.
type App struct {
	Name      string `json:"name"`
	Group     string `json:"group"`
	Layer     string `json:"layer"`
	File      string `json:"file"`
	Automated bool   `json:"automated"`
	SelfHeal  bool   `json:"selfHeal"`
	// Gate is set for the cost-gated apps (annotation costgate.aidev.io/gate).
	Gate *Gate `json:"gate,omitempty"`
	// Chat is set for apps that serve the OpenAI API (annotation smoke.aidev.io/chat-service).
	Chat *ChatTarget `json:"chat,omitempty"`
	// Manifest is the Application as written, for the checks that need more.
	Manifest map[string]any `json:"-"`
}
