package platform

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
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
	// Host is the CLI the plugins run under, for the commands messages name.
	Host Host

	workloads  map[string]*workload // git source folders, rendered once (see workload)
	layoutOnly bool                 // loaded without the catalog (LoadLayout)
	appsets    *AppSets             // the rendered appsets folder, once read (see AppSets)
	appsetsErr error
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

// CatalogDir is the folder of one group's Applications.
func (e *Env) CatalogDir(group string) string {
	return filepath.Join(e.Dir, e.Descriptor.Catalog, group)
}

// RepoPath is a path inside the environment as Argo CD sees it in the git
// repository, whose root is the folder that holds clusters/.
func (e *Env) RepoPath(rel ...string) string {
	return filepath.ToSlash(filepath.Join(append([]string{filepath.Base(e.ClustersDir), e.Name}, rel...)...))
}
