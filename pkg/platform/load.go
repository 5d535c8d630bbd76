package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

// File names inside an environment folder.
const (
	DescriptorFile = "platform.yaml"
	// ConfigFile is the default config file; the descriptor's config: may name another.
	ConfigFile = "config.yaml"
	// DefaultAppSets is the default appsets folder, the overlay resolve generates.
	DefaultAppSets = "appsets/overlay"
	// DefaultNamespace is Argo CD's namespace when the config does not name one.
	DefaultNamespace = "argocd"

	descriptorAPIVersion = "profile.aidev.io/v1alpha1"
	descriptorKind       = "Platform"
)

// Env is one environment of the platform, loaded and validated.
type Env struct {
	Name        string
	Dir         string // clusters/<env>
	ClustersDir string // clusters/
	Descriptor  Descriptor
	Config      Config
	Apps        []App // the catalog's Applications, in layer and group order

	workloads  map[string]*workload // git source folders, rendered once (see workload)
	layoutOnly bool                 // loaded without the catalog (LoadLayout)
	appsets    *AppSets             // the rendered appsets folder, once read (see AppSets)
	appsetsErr error
}

// FindClustersDir returns the nearest folder named clusters at or above start.
func FindClustersDir(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if filepath.Base(dir) == "clusters" {
			return dir, nil
		}
		if fi, err := os.Stat(filepath.Join(dir, "clusters")); err == nil && fi.IsDir() {
			return filepath.Join(dir, "clusters"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no clusters/ folder at or above %s: run from the platform repository or pass --dir", start)
		}
		dir = parent
	}
}

// EnvNames lists the environments in a clusters folder: the sub-folders that hold a platform.yaml.
func EnvNames(clustersDir string) ([]string, error) {
	entries, err := os.ReadDir(clustersDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(clustersDir, e.Name(), DescriptorFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Load reads and validates clusters/<name>. An empty name picks the only
// environment there is, and is an error naming them all when there are several.
func Load(clustersDir, name string) (*Env, error) {
	name, data, err := readDescriptor(clustersDir, name)
	if err != nil {
		return nil, err
	}
	return load(clustersDir, name, data)
}

// LoadLayout is Load without the catalog: the descriptor, the config and what
// the ApplicationSets read, for the commands whose result does not depend on
// the catalog's Applications (render). Its Apps is empty, and Generated lists
// only the groups file and the appsets overlay.
func LoadLayout(clustersDir, name string) (*Env, error) {
	name, data, err := readDescriptor(clustersDir, name)
	if err != nil {
		return nil, err
	}
	env, err := parseEnv(clustersDir, name, data)
	if err != nil {
		return nil, err
	}
	env.layoutOnly = true
	return env, nil
}

// readDescriptor picks the environment (an empty name: the only one there is)
// and reads its platform.yaml.
func readDescriptor(clustersDir, name string) (string, []byte, error) {
	names, err := EnvNames(clustersDir)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", clustersDir, err)
	}
	switch {
	case name == "" && len(names) == 1:
		name = names[0]
	case name == "" && len(names) == 0:
		return "", nil, fmt.Errorf("%s holds no environment (a folder with a %s)", clustersDir, DescriptorFile)
	case name == "":
		return "", nil, fmt.Errorf("%s holds several environments (%s): choose one with --env", clustersDir, strings.Join(names, ", "))
	case !slices.Contains(names, name):
		return "", nil, fmt.Errorf("unknown environment %q in %s (known: %s)", name, clustersDir, strings.Join(names, ", "))
	}
	data, err := os.ReadFile(filepath.Join(clustersDir, name, DescriptorFile))
	return name, data, err
}

// load validates an environment whose descriptor is data (the content of
// clusters/<name>/platform.yaml, which need not exist yet: init validates what
// it would write before writing it).
func load(clustersDir, name string, data []byte) (*Env, error) {
	env, err := parseEnv(clustersDir, name, data)
	if err != nil {
		return nil, err
	}
	if err := env.loadCatalog(); err != nil {
		return nil, err
	}
	if err := env.validateAppRules(); err != nil {
		return nil, err
	}
	return env, nil
}

// parseEnv reads and validates the descriptor (data) and the config file.
func parseEnv(clustersDir, name string, data []byte) (*Env, error) {
	env := &Env{Name: name, Dir: filepath.Join(clustersDir, name), ClustersDir: clustersDir}
	if err := decodeYAML(filepath.Join(env.Dir, DescriptorFile), data, &env.Descriptor, true); err != nil {
		return nil, err
	}
	if err := env.validateDescriptor(); err != nil {
		return nil, err
	}
	// Not strict: the config file may be shared with other tooling, whose keys
	// are not ours to judge. features: is checked against the groups below.
	if err := readYAML(env.ConfigPath(), &env.Config, false); err != nil {
		return nil, err
	}
	if err := readYAML(env.ConfigPath(), &env.Config.Raw, false); err != nil {
		return nil, err
	}
	if err := env.validateConfig(); err != nil {
		return nil, err
	}
	return env, nil
}

// readYAML decodes one YAML document, strictly (unknown fields are errors) when
// strict, with errors that name the file.
func readYAML(path string, into any, strict bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return decodeYAML(path, data, into, strict)
}

// decodeYAML decodes data read from path (named in errors).
func decodeYAML(path string, data []byte, into any, strict bool) (err error) {
	if strict {
		err = yaml.UnmarshalStrict(data, into)
	} else {
		err = yaml.Unmarshal(data, into)
	}
	if err != nil {
		return fmt.Errorf("%s: %s", path, render.CleanYAMLError(err))
	}
	return nil
}

// path is a path relative to the environment folder (an absolute one as is).
func (e *Env) path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(e.Dir, rel)
}

// ConfigPath is the config file the descriptor names (default config.yaml in
// the environment folder).
func (e *Env) ConfigPath() string { return e.path(e.configRel()) }

func (e *Env) configRel() string {
	if e.Descriptor.Config == "" {
		return ConfigFile
	}
	return e.Descriptor.Config
}

// ConfigName is the config file as the descriptor writes it, for messages:
// config.yaml, or the path relative to the environment folder.
func (e *Env) ConfigName() string { return filepath.ToSlash(e.configRel()) }

// DescriptorPath is the environment's platform.yaml.
func (e *Env) DescriptorPath() string { return e.path(DescriptorFile) }

// AppSetsDir is the folder that renders the AppProjects and the ApplicationSets.
func (e *Env) AppSetsDir() string { return e.path(e.Descriptor.AppSets) }

// GroupsFilePath is the groups file the ApplicationSets' generators read.
func (e *Env) GroupsFilePath() string { return e.path(e.Descriptor.GroupsFile) }

// AppSetsGenerated says whether resolve writes the appsets folder's
// kustomization (the overlay of ../base), or the folder is the team's own.
func (e *Env) AppSetsGenerated() bool {
	if g := e.Descriptor.AppSetsGenerated; g != nil {
		return *g
	}
	return filepath.Clean(e.Descriptor.AppSets) == filepath.Clean(DefaultAppSets)
}

func (e *Env) validateDescriptor() error {
	d := &e.Descriptor
	file := e.path(DescriptorFile)
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", file, field, fmt.Sprintf(format, args...))
	}
	if d.APIVersion != descriptorAPIVersion || d.Kind != descriptorKind {
		return bad("apiVersion/kind", "want %s %s, got %q %q", descriptorAPIVersion, descriptorKind, d.APIVersion, d.Kind)
	}
	if d.Name == "" {
		d.Name = e.Name
	} else if d.Name != e.Name {
		return bad("name", "%q does not match its folder %q", d.Name, e.Name)
	}
	if d.Project == "" {
		return bad("project", "must name the AppProject the applications use")
	}
	if d.GroupsFile == "" {
		d.GroupsFile = "groups.yaml"
	}
	if d.Catalog == "" {
		d.Catalog = "catalog"
	}
	if d.AppSets == "" {
		d.AppSets = DefaultAppSets
	}
	if d.Config == "" {
		d.Config = ConfigFile
	}
	if len(d.Layers) == 0 {
		return bad("layers", "must list at least one layer")
	}
	groupLayer := map[string]string{}
	features := map[string]string{}
	layers := map[string]bool{}
	for i, l := range d.Layers {
		field := fmt.Sprintf("layers[%d]", i)
		if err := dnsLabel(l.Name); err != nil {
			return bad(field+".name", "%v", err)
		}
		if layers[l.Name] {
			return bad(field+".name", "layer %q is listed twice", l.Name)
		}
		layers[l.Name] = true
		if len(l.Groups) == 0 {
			return bad(field+".groups", "layer %q has no groups", l.Name)
		}
		for j := range l.Groups {
			g := &d.Layers[i].Groups[j]
			gfield := fmt.Sprintf("%s.groups[%d]", field, j)
			if err := dnsLabel(g.Name); err != nil {
				return bad(gfield+".name", "%v", err)
			}
			if other, dup := groupLayer[g.Name]; dup {
				return bad(gfield+".name", "group %q is listed twice (also in layer %q)", g.Name, other)
			}
			groupLayer[g.Name] = l.Name
			if g.Core {
				if g.Feature != "" {
					return bad(gfield+".feature", "core group %q is always on and takes no feature", g.Name)
				}
				continue
			}
			if g.Feature == "" {
				g.Feature = g.Name
			}
			if other, dup := features[g.Feature]; dup {
				return bad(gfield+".feature", "feature %q already switches group %q", g.Feature, other)
			}
			features[g.Feature] = g.Name
		}
	}
	if err := e.validateSettings(bad); err != nil {
		return err
	}
	if len(d.Profiles) == 0 {
		return bad("profiles", "must list at least one profile")
	}
	profiles := map[string]int{}
	for i, p := range d.Profiles {
		field := fmt.Sprintf("profiles[%d]", i)
		if err := dnsLabel(p.Name); err != nil {
			return bad(field+".name", "%v", err)
		}
		if _, dup := profiles[p.Name]; dup {
			return bad(field+".name", "profile %q is listed twice", p.Name)
		}
		profiles[p.Name] = i
		for _, l := range p.Layers {
			if !layers[l] {
				return bad(field+".layers", "unknown layer %q (known: %s)", l, strings.Join(e.LayerNames(), ", "))
			}
		}
	}
	for i, p := range d.Profiles {
		if p.Extends == "" {
			continue
		}
		if _, ok := profiles[p.Extends]; !ok {
			return bad(fmt.Sprintf("profiles[%d].extends", i), "unknown profile %q", p.Extends)
		}
		if _, err := e.Profile(p.Name); err != nil {
			return bad(fmt.Sprintf("profiles[%d]", i), "%v", err)
		}
	}
	return nil
}

func (e *Env) validateConfig() error {
	c := &e.Config
	file := e.ConfigPath()
	if c.RepoURL == "" {
		return fmt.Errorf("%s: repoURL: must be set (the git repository Argo CD reads)", file)
	}
	switch {
	case c.Revision != "" && c.RepoBranch != "" && c.Revision != c.RepoBranch:
		return fmt.Errorf("%s: revision %q and repoBranch %q disagree: set one of them", file, c.Revision, c.RepoBranch)
	case c.Revision == "":
		c.Revision = c.RepoBranch
	}
	if c.Revision == "" {
		c.Revision = "HEAD"
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if err := e.validateSettingValues(); err != nil {
		return err
	}
	known := e.Features()
	var unknown []string
	for f := range c.Features {
		if !slices.Contains(known, f) {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: features: unknown feature(s) %s (known: %s)", file, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return nil
}

// Features lists the feature keys the groups declare, sorted.
func (e *Env) Features() []string {
	var out []string
	for _, l := range e.Descriptor.Layers {
		for _, g := range l.Groups {
			if !g.Core {
				out = append(out, g.Feature)
			}
		}
	}
	sort.Strings(out)
	return out
}

// LayerNames lists the layers in bring-up order.
func (e *Env) LayerNames() []string {
	out := make([]string, len(e.Descriptor.Layers))
	for i, l := range e.Descriptor.Layers {
		out[i] = l.Name
	}
	return out
}

// Profiles returns every profile with its layers resolved.
func (e *Env) Profiles() []Profile {
	out := make([]Profile, 0, len(e.Descriptor.Profiles))
	for _, p := range e.Descriptor.Profiles {
		r, err := e.Profile(p.Name)
		if err == nil {
			out = append(out, r)
		}
	}
	return out
}

// ProfileNames lists the profiles as declared.
func (e *Env) ProfileNames() []string {
	out := make([]string, len(e.Descriptor.Profiles))
	for i, p := range e.Descriptor.Profiles {
		out[i] = p.Name
	}
	return out
}

// Profile resolves a profile's layers (its own plus those of the profiles it
// extends) in bring-up order. An unknown name is an error listing the valid ones.
func (e *Env) Profile(name string) (Profile, error) {
	byName := map[string]ProfileSpec{}
	for _, p := range e.Descriptor.Profiles {
		byName[p.Name] = p
	}
	spec, ok := byName[name]
	if !ok {
		return Profile{}, fmt.Errorf("unknown profile %q in environment %s (valid: %s)", name, e.Name, strings.Join(e.ProfileNames(), ", "))
	}
	set := map[string]bool{}
	seen := map[string]bool{}
	for p := spec; ; {
		if seen[p.Name] {
			return Profile{}, fmt.Errorf("profile %q extends itself through %q", name, p.Name)
		}
		seen[p.Name] = true
		for _, l := range p.Layers {
			set[l] = true
		}
		if p.Extends == "" {
			break
		}
		p = byName[p.Extends]
	}
	out := Profile{Name: spec.Name, Description: spec.Description}
	for _, l := range e.LayerNames() {
		if set[l] {
			out.Layers = append(out.Layers, l)
		}
	}
	return out, nil
}

// GroupEnabled says whether config.yaml switches a group on.
func (e *Env) GroupEnabled(g Group) bool {
	if g.Core {
		return true
	}
	on, set := e.Config.Features[g.Feature]
	if !set {
		on = g.Default
	}
	return on && e.Holds(g.When)
}

// AppIncluded says whether a catalog app is part of its group with this
// config: true unless the group's apps: gives it a condition that fails.
func (e *Env) AppIncluded(a App) bool {
	g, _ := e.group(a.Group)
	rule, ok := g.Apps[a.Name]
	return !ok || e.Holds(rule.When)
}

// AppEnabled says whether the config brings a catalog app up: its group is
// enabled and no condition leaves it out.
func (e *Env) AppEnabled(a App) bool {
	g, ok := e.group(a.Group)
	return ok && e.GroupEnabled(g) && e.AppIncluded(a)
}

// group is the descriptor's group of that name.
func (e *Env) group(name string) (Group, bool) {
	for _, l := range e.Descriptor.Layers {
		for _, g := range l.Groups {
			if g.Name == name {
				return g, true
			}
		}
	}
	return Group{}, false
}

// validateAppRules checks that the apps: of each group name its own apps.
func (e *Env) validateAppRules() error {
	for i, l := range e.Descriptor.Layers {
		for j, g := range l.Groups {
			for _, name := range keys(g.Apps) {
				found := false
				for _, a := range e.Apps {
					found = found || (a.Name == name && a.Group == g.Name)
				}
				if !found {
					return fmt.Errorf("%s: layers[%d].groups[%d].apps: %q is not an Application of %s", e.path(DescriptorFile), i, j, name, e.CatalogDir(g.Name))
				}
			}
		}
	}
	return nil
}

// CatalogDir is the folder of one group's Applications.
func (e *Env) CatalogDir(group string) string {
	return filepath.Join(e.Dir, e.Descriptor.Catalog, group)
}

// RepoPath is a path inside the environment as Argo CD sees it in the git
// repository, whose root is the folder that holds clusters/.
func (e *Env) RepoPath(rel ...string) string {
	return filepath.ToSlash(filepath.Join(append([]string{filepath.Base(e.ClustersDir), e.Name}, rel...)...))
}

func (e *Env) loadCatalog() error {
	// The catalog files are read in parallel (parsing YAML is most of a load),
	// and kept in layer, group and file order.
	type file struct {
		path, group, layer string
		apps               []App
		err                error
	}
	var files []*file
	for _, l := range e.Descriptor.Layers {
		for _, g := range l.Groups {
			dir := e.CatalogDir(g.Name)
			entries, err := os.ReadDir(dir)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("%s: group %q (layer %s) has no catalog folder %s", e.path(DescriptorFile), g.Name, l.Name, dir)
				}
				return err
			}
			for _, f := range entries {
				if f.IsDir() || !(strings.HasSuffix(f.Name(), ".yaml") || strings.HasSuffix(f.Name(), ".yml")) || isKustomizationFile(f.Name()) {
					continue
				}
				files = append(files, &file{path: filepath.Join(dir, f.Name()), group: g.Name, layer: l.Name})
			}
		}
	}
	next := make(chan *file)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				f.apps, f.err = readApps(f.path, f.group, f.layer)
			}
		}()
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	for _, f := range files {
		if f.err != nil {
			return f.err
		}
		e.Apps = append(e.Apps, f.apps...)
	}
	seen := map[string]string{}
	for _, a := range e.Apps {
		if other, dup := seen[a.Name]; dup {
			return fmt.Errorf("%s: Application %q is also defined in %s", a.File, a.Name, other)
		}
		seen[a.Name] = a.File
	}
	return nil
}

// ReadObjects reads every object of a multi-document YAML file, with errors that
// name the file and the document.
func ReadObjects(path string) ([]map[string]any, error) { return render.ReadFile(path) }

// readApps reads the Argo CD Applications of one catalog file (other kinds are
// deployed by the group app too, but are not apps).
func readApps(path, group, layer string) ([]App, error) {
	objs, err := ReadObjects(path)
	if err != nil {
		return nil, err
	}
	var apps []App
	for _, obj := range objs {
		if obj["kind"] != "Application" {
			continue
		}
		app, err := appFromManifest(obj, path, group, layer)
		if err != nil {
			return nil, err
		}
		apps = append(apps, app)
	}
	return apps, nil
}
