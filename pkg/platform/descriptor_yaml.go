package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// format writes the descriptor as a person would: the fields in the order of
// the README, with comments, groups and profiles one a line.
func (inf *Inference) format() ([]byte, error) {
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent() // "- " at its key's indentation, as the README and kubectl write lists
	if err := enc.Encode(inf.descriptorNode()); err != nil {
		return nil, fmt.Errorf("init cannot write the descriptor (a bug): %v", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("init cannot write the descriptor (a bug): %v", err)
	}
	// What was written must read back as the descriptor inferred.
	var back Descriptor
	if err := yaml.UnmarshalStrict(b.Bytes(), &back); err != nil {
		return nil, fmt.Errorf("init wrote a descriptor it cannot read (a bug): %v\n%s", err, b.String())
	}
	if !sameDescriptor(back, inf.Descriptor) {
		return nil, fmt.Errorf("init wrote a descriptor that reads back otherwise (a bug):\n%s", b.String())
	}
	return b.Bytes(), nil
}

// descriptorNode is the descriptor as a YAML document, with the comments that
// say where each part came from.
func (inf *Inference) descriptorNode() *yamlv3.Node {
	d := inf.Descriptor
	top := newMapping(0)
	top.add("apiVersion", stringNode(d.APIVersion)).HeadComment = fmt.Sprintf(
		"# The %s environment, as kubectl profile init read it from the tree: its ApplicationSets\n"+
			"# (%s), the groups file they read, the catalog and the config. Review it: it is yours,\n"+
			"# and no command writes it again (init --force replaces it).", d.Name, d.AppSets)
	top.add("kind", stringNode(d.Kind))
	top.add("name", stringNode(d.Name))
	top.add("project", stringNode(d.Project))
	if d.Config != "" {
		top.add("config", stringNode(d.Config))
	}
	top.add("groupsFile", stringNode(d.GroupsFile))
	top.add("catalog", stringNode(d.Catalog))
	top.add("appsets", stringNode(d.AppSets))
	if d.AppSetsGenerated != nil {
		top.add("appsetsGenerated", boolNode(*d.AppSetsGenerated))
	}
	if d.Projects != "" {
		top.add("projects", stringNode(d.Projects)).HeadComment = "# The AppProject the ApplicationSets use, kept in a folder of its own: applied before them."
	}
	if c := d.Cluster; c != nil {
		cluster := newMapping(0)
		if c.Context != "" {
			cluster.add("context", stringNode(c.Context))
		}
		if c.Server != "" {
			cluster.add("server", stringNode(c.Server))
		}
		if c.Hub != nil {
			hub := newMapping(0)
			if c.Hub.Destination != "" {
				hub.add("destination", stringNode(c.Hub.Destination))
			}
			cluster.add("hub", hub.Node).LineComment = "# add context: the hub's kubeconfig context"
		}
		top.add("cluster", cluster.Node).HeadComment = "# Where the catalog's Applications deploy: a cluster of the hub's Argo CD. Add context:\n" +
			"# (this cluster's kubeconfig context) so costgate reaches the gates' targets (docs/clusters.md)."
	}
	layers := &yamlv3.Node{Kind: yamlv3.SequenceNode}
	for _, l := range d.Layers {
		layers.Content = append(layers.Content, layerNode(l))
	}
	top.add("layers", layers).LineComment = "# bring-up order, from " + inf.Order + "; pruning goes in reverse"
	profiles := &yamlv3.Node{Kind: yamlv3.SequenceNode}
	for _, p := range d.Profiles {
		profiles.Content = append(profiles.Content, profileNode(p))
	}
	top.add("profiles", profiles).LineComment = "# additive: one per layer, each holding the layers of the one it extends"
	return &yamlv3.Node{Kind: yamlv3.DocumentNode, Content: []*yamlv3.Node{top.Node}}
}

// layerNode is a layer in block style, each of its groups on a line.
func layerNode(l Layer) *yamlv3.Node {
	groups := &yamlv3.Node{Kind: yamlv3.SequenceNode}
	for _, g := range l.Groups {
		m := newMapping(yamlv3.FlowStyle)
		m.add("name", stringNode(g.Name))
		if g.Core {
			m.add("core", boolNode(true))
		}
		if g.Feature != "" {
			m.add("feature", stringNode(g.Feature))
		}
		if g.Default {
			m.add("default", boolNode(true))
		}
		groups.Content = append(groups.Content, m.Node)
	}
	m := newMapping(0)
	m.add("name", stringNode(l.Name))
	m.add("groups", groups)
	return m.Node
}

// profileNode is a profile on one line.
func profileNode(p ProfileSpec) *yamlv3.Node {
	m := newMapping(yamlv3.FlowStyle)
	m.add("name", stringNode(p.Name))
	if p.Description != "" {
		m.add("description", stringNode(p.Description))
	}
	if p.Extends != "" {
		m.add("extends", stringNode(p.Extends))
	}
	layers := &yamlv3.Node{Kind: yamlv3.SequenceNode, Style: yamlv3.FlowStyle}
	for _, l := range p.Layers {
		layers.Content = append(layers.Content, stringNode(l))
	}
	m.add("layers", layers)
	return m.Node
}

// mapping builds a mapping node whose keys keep the order they are added in.
type mapping struct{ *yamlv3.Node }

func newMapping(style yamlv3.Style) mapping {
	return mapping{&yamlv3.Node{Kind: yamlv3.MappingNode, Style: style}}
}

// add appends key: value and returns the key's node, which holds the comments
// written before and after the key.
func (m mapping) add(key string, value *yamlv3.Node) *yamlv3.Node {
	k := &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: key}
	m.Content = append(m.Content, k, value)
	return k
}

func boolNode(b bool) *yamlv3.Node {
	return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// stringNode is s as a string: plain when that reads back as s, else
// double-quoted. The !!str tag alone is not enough: yaml.v3 then quotes what
// YAML 1.2 reads as another type, but sigs.k8s.io/yaml, which reads the
// descriptor, follows YAML 1.1, where on, no and y are booleans and 1_0 is a
// number.
func stringNode(s string) *yamlv3.Node {
	n := &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: s}
	if !plainReadsBack(s) {
		n.Style = yamlv3.DoubleQuotedStyle
	}
	return n
}

// plainReadsBack says whether yaml.v3 writes s plain in a flow sequence (where
// fewer strings can be plain than in a block) and sigs.k8s.io/yaml reads that
// back as the string s.
func plainReadsBack(s string) bool {
	probe := &yamlv3.Node{Kind: yamlv3.SequenceNode, Style: yamlv3.FlowStyle,
		Content: []*yamlv3.Node{{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: s}}}
	out, err := yamlv3.Marshal(probe)
	if err != nil || string(out) != "["+s+"]\n" {
		return false // yaml.v3 quoted it
	}
	var back []any
	return yaml.Unmarshal(out, &back) == nil && len(back) == 1 && back[0] == s
}

func sameDescriptor(a, b Descriptor) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
