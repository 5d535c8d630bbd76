package platform

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The secret contract is what an environment asks of its secret store: every
// remote key its ExternalSecrets read, how (whole, or by JSON property), and
// who reads it, computed from the tree as Argo CD would deploy it.

// How an ExternalSecret reads a remote key.
const (
	ReadWhole    = "whole"    // spec.data[].remoteRef without property: the value as it is
	ReadProperty = "property" // spec.data[].remoteRef.property: one field of a JSON object
	ReadExtract  = "extract"  // spec.dataFrom[].extract: every field of a JSON object
)

// Shapes of a remote key.
const (
	ShapePlain = "plain"
	ShapeJSON  = "json"
	// ShapeConflict: one reader reads the key whole and another by property;
	// no single value satisfies both (profile lint's secret-shape error).
	ShapeConflict = "conflict"
)

// SecretContract is the environment's secret contract.
type SecretContract struct {
	Env string `json:"env"`
	// Profile is the profile whose apps were read ("" for every layer).
	Profile string `json:"profile,omitempty"`
	// All: every group of the catalog, enabled or not.
	All    bool           `json:"all"`
	Stores []SecretStore  `json:"stores"`
	Remote []RemoteSecret `json:"remoteSecrets"`
	Seeded []SeededSecret `json:"seededSecrets"`
}

// SecretStore is a store the ExternalSecrets read, as the tree renders it.
type SecretStore struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	// Provider is the store's backend (spec.provider's key: gcpsm, aws,
	// vault, ...); "" when the tree does not render the store.
	Provider string `json:"provider,omitempty"`
	// Project is gcpsm's projectID; Region is aws's region.
	Project string `json:"project,omitempty"`
	Region  string `json:"region,omitempty"`
	App     string `json:"app,omitempty"`
	File    string `json:"file,omitempty"`
}

// Ref is how an ExternalSecret's secretStoreRef names the store.
func (s SecretStore) Ref() string {
	if s.Kind == "SecretStore" {
		return s.Kind + "/" + s.Namespace + "/" + s.Name
	}
	return s.Kind + "/" + s.Name
}

// Where says where the store keeps its keys: ", project P" (gcpsm), ", region R" (aws), or "".
func (s SecretStore) Where() string {
	switch {
	case s.Project != "":
		return ", project " + s.Project
	case s.Region != "":
		return ", region " + s.Region
	}
	return ""
}

// RemoteSecret is one key of a store.
type RemoteSecret struct {
	Key   string `json:"key"`
	Store string `json:"store"`
	// Shape is what the reads ask for: plain, json, or conflict.
	Shape string `json:"shape"`
	// Properties are the JSON fields read (and documented), sorted.
	Properties []string `json:"properties,omitempty"`
	// Extracted: some reader takes every field (dataFrom.extract).
	Extracted bool `json:"extracted,omitempty"`
	// Documented is the platform.yaml remoteSecrets entry, when there is one.
	Documented  bool           `json:"documented"`
	Description string         `json:"description,omitempty"`
	Hint        string         `json:"hint,omitempty"`
	Readers     []SecretReader `json:"readers"`
}

// SecretReader is one read of a remote key by an ExternalSecret.
type SecretReader struct {
	App  string `json:"app"`
	File string `json:"file"`
	// Field is where the read is written: spec.data[2].remoteRef.
	Field string `json:"field"`
	// ExternalSecret is NAMESPACE/NAME.
	ExternalSecret string `json:"externalSecret"`
	// Secret is the Kubernetes Secret it fills: NAMESPACE/NAME:KEY, or
	// NAMESPACE/NAME for an extract (every field becomes a key).
	Secret   string `json:"secret"`
	Read     string `json:"read"`
	Property string `json:"property,omitempty"`
	// Workloads are what reads the Secret: Kind/name of the tree's objects
	// in its namespace, or Application/NAME when a chart's values name it.
	Workloads []string `json:"workloads,omitempty"`
}

// SecretContract computes the contract of the apps a profile brings up with
// this config (profile nil: every layer), or of every catalog app when all.
func (e *Env) SecretContract(profile *Profile, all bool) SecretContract {
	c := SecretContract{Env: e.Name, All: all, Stores: []SecretStore{}, Remote: []RemoteSecret{}, Seeded: []SeededSecret{}}
	var apps []App
	switch {
	case all:
		apps = e.Apps
	case profile != nil:
		c.Profile = profile.Name
		apps = e.CatalogApps(*profile)
	default:
		for _, a := range e.Apps {
			if e.AppEnabled(a) {
				apps = append(apps, a)
			}
		}
	}
	reads := e.secretReads(apps)
	stores := map[string]*SecretStore{}
	remote := map[string]*RemoteSecret{}
	for _, r := range reads.external {
		if stores[r.store.Ref()] == nil {
			s := reads.stores[r.store.Ref()]
			if s == nil {
				s = &r.store
			}
			stores[r.store.Ref()] = s
		}
		id := r.store.Ref() + "\x00" + r.key
		rs := remote[id]
		if rs == nil {
			rs = &RemoteSecret{Key: r.key, Store: r.store.Ref()}
			remote[id] = rs
		}
		rd := r.reader
		ns, name, _ := strings.Cut(strings.SplitN(rd.Secret, ":", 2)[0], "/")
		rd.Workloads = reads.readers[ns+"/"+name]
		rs.Readers = append(rs.Readers, rd)
	}
	for _, rs := range remote {
		e.shape(rs)
		c.Remote = append(c.Remote, *rs)
	}
	sort.Slice(c.Remote, func(i, j int) bool {
		if c.Remote[i].Key != c.Remote[j].Key {
			return c.Remote[i].Key < c.Remote[j].Key
		}
		return c.Remote[i].Store < c.Remote[j].Store
	})
	for _, s := range stores {
		c.Stores = append(c.Stores, *s)
	}
	sort.Slice(c.Stores, func(i, j int) bool { return c.Stores[i].Ref() < c.Stores[j].Ref() })
	c.Seeded = append(c.Seeded, e.Descriptor.SeededSecrets...)
	return c
}

// shape fills a remote key's shape from its reads and its documentation.
func (e *Env) shape(rs *RemoteSecret) {
	props := map[string]bool{}
	whole, json := false, false
	for _, r := range rs.Readers {
		switch r.Read {
		case ReadWhole:
			whole = true
		case ReadProperty:
			json, props[r.Property] = true, true
		case ReadExtract:
			json, rs.Extracted = true, true
		}
	}
	if doc, ok := e.RemoteSecretShape(rs.Key); ok {
		rs.Documented, rs.Description, rs.Hint = true, doc.Description, doc.Hint
		for _, p := range doc.Properties {
			props[p] = true
		}
	}
	rs.Properties = keys(props)
	switch {
	case whole && json:
		rs.Shape = ShapeConflict
	case json:
		rs.Shape = ShapeJSON
	default:
		rs.Shape = ShapePlain
	}
	sort.SliceStable(rs.Readers, func(i, j int) bool { return rs.Readers[i].Secret < rs.Readers[j].Secret })
}

// RemoteSecretShape is platform.yaml's remoteSecrets entry for a key.
func (e *Env) RemoteSecretShape(key string) (RemoteSecretShape, bool) {
	for _, r := range e.Descriptor.RemoteSecrets {
		if r.Key == key {
			return r, true
		}
	}
	return RemoteSecretShape{}, false
}

// externalRead is one remote read found in the tree.
type externalRead struct {
	store  SecretStore // as the ExternalSecret names it (kind, name, namespace)
	key    string
	reader SecretReader
}

// treeSecrets is what a set of apps deploys that matters to the contract.
type treeSecrets struct {
	external []externalRead
	stores   map[string]*SecretStore // rendered stores by Ref
	// readers maps NAMESPACE/SECRET to what reads it.
	readers map[string][]string
}

// secretReads renders the apps' git sources (as Argo CD would, once each) and
// collects the ExternalSecrets' reads, the stores and the Secrets' readers.
func (e *Env) secretReads(apps []App) treeSecrets {
	t := treeSecrets{stores: map[string]*SecretStore{}, readers: map[string][]string{}}
	addReader := func(key, who string) {
		if !slices.Contains(t.readers[key], who) {
			t.readers[key] = append(t.readers[key], who)
		}
	}
	e.renderSources(apps)
	// values holds, by app, the Helm values of its charts, read once each.
	values := map[string]string{}
	for _, a := range apps {
		for _, o := range e.Deployed(a) {
			for _, name := range secretReads(o.Unstructured) {
				addReader(o.Namespace+"/"+name, o.GetKind()+"/"+o.GetName())
			}
			switch o.GetKind() {
			case "ClusterSecretStore", "SecretStore":
				if strings.HasPrefix(o.GetAPIVersion(), "external-secrets.io/") {
					s := storeFromObject(o, a)
					t.stores[s.Ref()] = &s
				}
			case "ExternalSecret":
				if strings.HasPrefix(o.GetAPIVersion(), "external-secrets.io/") {
					t.external = append(t.external, externalReads(o, a)...)
				}
			}
		}
		if v := e.chartValues(a); v != "" {
			values[a.Name] = v
		}
	}
	// A chart's workloads are opaque here; its values naming the Secret in
	// the app's namespace are the next best witness.
	for secret := range secretNames(t.external) {
		ns, name, _ := strings.Cut(secret, "/")
		word := regexp.MustCompile(`(^|[^A-Za-z0-9_.-])` + regexp.QuoteMeta(name) + `($|[^A-Za-z0-9_.-])`)
		for _, a := range apps {
			if v, ok := values[a.Name]; ok && a.DestinationNamespace() == ns && word.MatchString(v) {
				addReader(secret, "Application/"+a.Name)
			}
		}
	}
	for k := range t.readers {
		sort.Strings(t.readers[k])
	}
	return t
}

// secretNames are the NAMESPACE/NAME of the Secrets the reads fill.
func secretNames(reads []externalRead) map[string]bool {
	out := map[string]bool{}
	for _, r := range reads {
		out[strings.SplitN(r.reader.Secret, ":", 2)[0]] = true
	}
	return out
}

// chartValues is an app's Helm values as one string ("" without a chart).
func (e *Env) chartValues(a App) string {
	m, err := e.Effective(a)
	if err != nil {
		return ""
	}
	spec, _ := m["spec"].(map[string]any)
	sources, _ := spec["sources"].([]any)
	if src, ok := spec["source"]; ok {
		sources = append(sources, src)
	}
	var out strings.Builder
	for _, s := range sources {
		src, _ := s.(map[string]any)
		if _, chart := src["chart"]; !chart {
			continue
		}
		if helm, ok := src["helm"]; ok {
			data, _ := json.Marshal(helm)
			out.Write(data)
			if v, ok := helm.(map[string]any)["values"].(string); ok {
				out.WriteString(v)
			}
		}
	}
	return out.String()
}

// storeFromObject reads a rendered ClusterSecretStore or SecretStore.
func storeFromObject(o DeployedObject, a App) SecretStore {
	s := SecretStore{Kind: o.GetKind(), Name: o.GetName(), App: a.Name, File: o.File}
	if s.Kind == "SecretStore" {
		s.Namespace = o.Namespace
	}
	provider, _, _ := unstructured.NestedMap(o.Object, "spec", "provider")
	for _, name := range keys(provider) {
		s.Provider = name
		p, _ := provider[name].(map[string]any)
		s.Project, _ = p["projectID"].(string)
		s.Region, _ = p["region"].(string)
		break
	}
	return s
}

// externalReads lists an ExternalSecret's remote reads.
func externalReads(o DeployedObject, a App) []externalRead {
	spec, _ := o.Object["spec"].(map[string]any)
	ref, _ := spec["secretStoreRef"].(map[string]any)
	store := SecretStore{Name: str(ref["name"]), Kind: str(ref["kind"])}
	if store.Kind == "" {
		store.Kind = "SecretStore" // External Secrets' default
	}
	if store.Kind == "SecretStore" {
		store.Namespace = o.Namespace
	}
	target, _, _ := unstructured.NestedString(o.Object, "spec", "target", "name")
	if target == "" {
		target = o.GetName() // the operator's default
	}
	base := SecretReader{App: a.Name, File: o.File, ExternalSecret: o.Namespace + "/" + o.GetName()}
	var out []externalRead
	data, _ := spec["data"].([]any)
	for i, d := range data {
		entry, _ := d.(map[string]any)
		remote, _ := entry["remoteRef"].(map[string]any)
		key := str(remote["key"])
		if key == "" {
			continue
		}
		r := base
		r.Field = fmt.Sprintf("spec.data[%d].remoteRef", i)
		r.Secret = o.Namespace + "/" + target + ":" + str(entry["secretKey"])
		r.Read, r.Property = ReadWhole, str(remote["property"])
		if r.Property != "" {
			r.Read = ReadProperty
		}
		out = append(out, externalRead{store: store, key: key, reader: r})
	}
	dataFrom, _ := spec["dataFrom"].([]any)
	for i, d := range dataFrom {
		entry, _ := d.(map[string]any)
		extract, _ := entry["extract"].(map[string]any)
		key := str(extract["key"])
		if key == "" {
			continue // find: names are matched in the store, not known here
		}
		r := base
		r.Field = fmt.Sprintf("spec.dataFrom[%d].extract", i)
		r.Secret = o.Namespace + "/" + target
		r.Read = ReadExtract
		out = append(out, externalRead{store: store, key: key, reader: r})
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
