package platform

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// fieldError makes the error of one descriptor field: the file, the field's
// path (layers[0].name) and what is wrong.
type fieldError func(field, format string, args ...any) error

// validateDescriptor checks platform.yaml and fills in its defaults.
func (e *Env) validateDescriptor() error {
	file := e.path(DescriptorFile)
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", file, field, fmt.Sprintf(format, args...))
	}
	if err := e.validateTopLevel(bad); err != nil {
		return err
	}
	if err := e.validateLayers(bad); err != nil {
		return err
	}
	if err := e.validateSettings(bad); err != nil {
		return err
	}
	if err := e.Descriptor.ArgoCD.validate(bad); err != nil {
		return err
	}
	return e.validateProfiles(bad)
}

// validateTopLevel checks the descriptor's own fields and fills in the
// defaults of the optional ones.
func (e *Env) validateTopLevel(bad fieldError) error {
	d := &e.Descriptor
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
	return validateCluster(d.Cluster, bad)
}

// validateLayers checks the layers and their groups, each name once in the
// environment, and gives each switchable group its feature (default: its name).
func (e *Env) validateLayers(bad fieldError) error {
	d := &e.Descriptor
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
			if err := validateFeature(g, gfield, features, bad); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateFeature checks a group's feature against the others' (features:
// feature -> group) and defaults it to the group's name.
func validateFeature(g *Group, field string, features map[string]string, bad fieldError) error {
	if g.Core {
		if g.Feature != "" {
			return bad(field+".feature", "core group %q is always on and takes no feature", g.Name)
		}
		return nil
	}
	if g.Feature == "" {
		g.Feature = g.Name
	}
	if other, dup := features[g.Feature]; dup {
		return bad(field+".feature", "feature %q already switches group %q", g.Feature, other)
	}
	features[g.Feature] = g.Name
	return nil
}

// validateProfiles checks the profiles' names, layers and extends, once the
// layers are known to be valid.
func (e *Env) validateProfiles(bad fieldError) error {
	d := &e.Descriptor
	if len(d.Profiles) == 0 {
		return bad("profiles", "must list at least one profile")
	}
	layers := e.LayerNames()
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
			if !slices.Contains(layers, l) {
				return bad(field+".layers", "unknown layer %q (known: %s)", l, strings.Join(layers, ", "))
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

// validateConfig checks the config file and fills in its defaults.
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
