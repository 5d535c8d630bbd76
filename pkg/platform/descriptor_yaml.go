package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// format writes the descriptor as a person would: the fields in the order of
// the README, groups and profiles one a line.
func (inf *Inference) format() ([]byte, error) {
	d := inf.Descriptor
	var b bytes.Buffer
	fmt.Fprintf(&b, "# The %s environment, as kubectl profile init read it from the tree: its ApplicationSets\n", d.Name)
	fmt.Fprintf(&b, "# (%s), the groups file they read, the catalog and the config. Review it: it is yours,\n", d.AppSets)
	b.WriteString("# and no command writes it again (init --force replaces it).\n")
	field := func(key, value string) { fmt.Fprintf(&b, "%s: %s\n", key, scalar(value)) }
	field("apiVersion", d.APIVersion)
	field("kind", d.Kind)
	field("name", d.Name)
	field("project", d.Project)
	if d.Config != "" {
		field("config", d.Config)
	}
	field("groupsFile", d.GroupsFile)
	field("catalog", d.Catalog)
	field("appsets", d.AppSets)
	if d.AppSetsGenerated != nil {
		field("appsetsGenerated", strconv.FormatBool(*d.AppSetsGenerated))
	}
	if d.Projects != "" {
		b.WriteString("# The AppProject the ApplicationSets use, kept in a folder of its own: applied before them.\n")
		field("projects", d.Projects)
	}
	fmt.Fprintf(&b, "layers: # bring-up order, from %s; pruning goes in reverse\n", inf.Order)
	for _, l := range d.Layers {
		fmt.Fprintf(&b, "- name: %s\n  groups:\n", scalar(l.Name))
		for _, g := range l.Groups {
			parts := []string{"name: " + scalar(g.Name)}
			if g.Core {
				parts = append(parts, "core: true")
			}
			if g.Feature != "" {
				parts = append(parts, "feature: "+scalar(g.Feature))
			}
			if g.Default {
				parts = append(parts, "default: true")
			}
			fmt.Fprintf(&b, "  - {%s}\n", strings.Join(parts, ", "))
		}
	}
	b.WriteString("profiles: # additive: one per layer, each holding the layers of the one it extends\n")
	for _, p := range d.Profiles {
		parts := []string{"name: " + scalar(p.Name)}
		if p.Description != "" {
			parts = append(parts, "description: "+scalar(p.Description))
		}
		if p.Extends != "" {
			parts = append(parts, "extends: "+scalar(p.Extends))
		}
		var ls []string
		for _, l := range p.Layers {
			ls = append(ls, scalar(l))
		}
		parts = append(parts, "layers: ["+strings.Join(ls, ", ")+"]")
		fmt.Fprintf(&b, "- {%s}\n", strings.Join(parts, ", "))
	}
	// What was written must read back as the descriptor inferred.
	var back Descriptor
	if err := yaml.UnmarshalStrict(b.Bytes(), &back); err != nil {
		return nil, fmt.Errorf("init wrote a descriptor it cannot read (a bug): %v\n%s", err, b.String())
	}
	if !sameDescriptor(back, d) {
		return nil, fmt.Errorf("init wrote a descriptor that reads back otherwise (a bug):\n%s", b.String())
	}
	return b.Bytes(), nil
}

func sameDescriptor(a, b Descriptor) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

var plainScalar = regexp.MustCompile(`^[A-Za-z0-9./][A-Za-z0-9 ._/-]*$`)

// scalar writes s as a YAML scalar that reads back as the string s, in a block
// or a flow collection: plain when it can be, else double-quoted.
func scalar(s string) string {
	special := map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true, "true": true, "false": true, "null": true, "~": true}
	_, numErr := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if plainScalar.MatchString(s) && !strings.HasSuffix(s, " ") && !special[strings.ToLower(s)] && numErr != nil && !strings.HasPrefix(s, "0") {
		return s
	}
	q, _ := json.Marshal(s)
	return string(q)
}
