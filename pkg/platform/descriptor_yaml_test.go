package platform

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// A string YAML would read as something else (a YAML 1.1 boolean, a number,
// null, a date) or that cannot be plain is written double-quoted, and reads
// back as that string, in a block mapping and in a flow one alike; a string
// that can be plain stays plain.
func TestDescriptorStringsReadBack(t *testing.T) {
	quoted := []string{"on", "On", "yes", "No", "y", "OFF", "true", "~", "null", "1.0", "0755", "1e3", "1_0", ".inf",
		"2001-12-14", "a: b", "a,b", "[x]", "{x}", "#x", "- x", "x ", " x", "a\nb", `"x"`, "'x'", "&x", "*x", "!x", "%x", "@x"}
	plain := []string{"gpu-models", "gpu_models", "../../config/platform-config.yaml", "layers platform to serving", "profile.aidev.io/v1alpha1", "_1"}
	for _, s := range append(quoted, plain...) {
		inf := &Inference{Order: "the groups file's order", Descriptor: Descriptor{
			APIVersion: descriptorAPIVersion, Kind: descriptorKind, Name: "team", Project: s, Config: s, GroupsFile: "groups.yaml", Catalog: "apps", AppSets: "appsets",
			Layers:   []Layer{{Name: "core", Groups: []Group{{Name: "base", Feature: s}}}},
			Profiles: []ProfileSpec{{Name: "core", Description: s, Layers: []string{"core"}}},
		}}
		content, err := inf.format() // which reads it back into a Descriptor
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		want := s
		if !slices.Contains(plain, s) {
			want = strconv.Quote(s)
		}
		for _, line := range []string{"project: " + want + "\n", "- {name: base, feature: " + want + "}\n", "- {name: core, description: " + want + ", layers: [core]}\n"} {
			if !strings.Contains(string(content), line) {
				t.Errorf("%q: no line %q in\n%s", s, line, content)
			}
		}
		// Read back without a struct's string fields to steer it: still a string.
		var back map[string]any
		if err := yaml.Unmarshal(content, &back); err != nil || back["project"] != s || back["config"] != s {
			t.Errorf("%q reads back as %#v, %#v (%v)", s, back["project"], back["config"], err)
		}
	}
}

// appsetsGenerated is a boolean: written as one, it reads back as one (the
// hand-written emitter quoted it, and init refused its own descriptor).
func TestDescriptorAppSetsGeneratedIsABoolean(t *testing.T) {
	for _, generated := range []bool{true, false} {
		inf := &Inference{Order: "the groups file's order", Descriptor: Descriptor{
			APIVersion: descriptorAPIVersion, Kind: descriptorKind, Name: "team", Project: "team", GroupsFile: "groups.yaml", Catalog: "apps",
			AppSets: "appsets", AppSetsGenerated: &generated,
			Layers:   []Layer{{Name: "core", Groups: []Group{{Name: "base", Core: true}}}},
			Profiles: []ProfileSpec{{Name: "core", Layers: []string{"core"}}},
		}}
		content, err := inf.format()
		if err != nil {
			t.Fatal(err)
		}
		if want := "\nappsetsGenerated: " + strconv.FormatBool(generated) + "\n"; !strings.Contains(string(content), want) {
			t.Errorf("no %q in\n%s", want, content)
		}
	}
}
