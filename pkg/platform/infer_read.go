package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// groupRecord is one record of a groups file as the team wrote it.
type groupRecord struct {
	Name, Layer, Path string
	Enabled           bool
}

// readAppSets reads each rendered ApplicationSet's layer, groups file, project
// and sync wave. Every ApplicationSet of the folder must be a layer's.
func (inf *Inference) readAppSets(folder string, objs []render.Object) (groupsFile, project string, err error) {
	var bad []string
	byLayer := map[string]InferredAppSet{}
	groupsFiles := map[string][]string{} // path -> ApplicationSets
	projects := map[string][]string{}
	for _, o := range objs {
		if f := inf.repoRel(o.File); o.File != "" && !slices.Contains(inf.Read, f) {
			inf.Read = append(inf.Read, f)
		}
		if !isAppSet(o.Object) {
			continue
		}
		name := o.GetName()
		where := "ApplicationSet " + name
		if o.File != "" {
			where = inf.repoRel(o.File) + ": " + where
		}
		layer := o.GetLabels()[LayerLabel]
		if layer == "" {
			if sel := selectedLayers(o.Unstructured); len(sel) == 1 {
				layer = sel[0]
			}
		}
		files := gitFiles(o.Unstructured)
		switch {
		case len(files) == 0:
			bad = append(bad, where+": no git generator reads a groups file (spec.generators[].git.files[].path)")
			continue
		case len(files) > 1:
			bad = append(bad, fmt.Sprintf("%s: its git generators read several files (%s): a layer's ApplicationSet reads one groups file", where, strings.Join(files, ", ")))
			continue
		case layer == "":
			bad = append(bad, fmt.Sprintf("%s: its selector names no layer (selector: {matchLabels: {layer: <layer>}}) and it has no %s label", where, LayerLabel))
			continue
		case strings.ContainsAny(files[0], "*?[{"):
			bad = append(bad, fmt.Sprintf("%s: its git generator reads %q, a pattern: a layer's ApplicationSet reads one groups file", where, files[0]))
			continue
		}
		if other, dup := byLayer[layer]; dup {
			bad = append(bad, fmt.Sprintf("%s: layer %s has another ApplicationSet, %s: a layer has one", where, layer, other.Name))
			continue
		}
		set := InferredAppSet{Layer: layer, Name: name}
		if o.File != "" {
			set.File = inf.repoRel(o.File)
		}
		if w, ok := o.GetAnnotations()[SyncWaveAnnotation]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s: annotation %s: %q is not a whole number", where, SyncWaveAnnotation, w))
				continue
			}
			set.Wave = &n
		}
		byLayer[layer] = set
		groupsFiles[files[0]] = append(groupsFiles[files[0]], name)
		p, _, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "project")
		projects[p] = append(projects[p], name)
	}
	if len(bad) > 0 {
		return "", "", fmt.Errorf("%s renders ApplicationSets init cannot read as one layer's each:\n  %s", inf.repoRel(folder), strings.Join(bad, "\n  "))
	}
	if len(byLayer) == 0 {
		return "", "", fmt.Errorf("%s renders no ApplicationSet", inf.repoRel(folder))
	}
	if len(groupsFiles) > 1 {
		return "", "", fmt.Errorf("the ApplicationSets of %s read different groups files (%s): an environment has one", inf.repoRel(folder), describeUses(groupsFiles))
	}
	if len(projects) > 1 {
		return "", "", fmt.Errorf("the ApplicationSets of %s generate Applications of different projects (%s): an environment has one", inf.repoRel(folder), describeUses(projects))
	}
	for p := range projects {
		switch {
		case p == "":
			return "", "", fmt.Errorf("the ApplicationSets of %s do not set spec.template.spec.project", inf.repoRel(folder))
		case strings.Contains(p, "{{"):
			return "", "", fmt.Errorf("the ApplicationSets of %s template their project (%q): init needs the AppProject's name", inf.repoRel(folder), p)
		}
		project = p
	}
	for f := range groupsFiles {
		groupsFile = filepath.Join(inf.RepoRoot, filepath.FromSlash(path.Clean(f)))
	}
	for _, s := range byLayer {
		inf.AppSets = append(inf.AppSets, s)
	}
	return groupsFile, project, nil
}

// describeUses writes "a (x, y), b (z)" from value -> users, sorted.
func describeUses(m map[string][]string) string {
	var parts []string
	for v, users := range m {
		parts = append(parts, fmt.Sprintf("%q by %s", v, strings.Join(users, ", ")))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// gitFiles are the files an ApplicationSet's git generators read.
func gitFiles(o *unstructured.Unstructured) []string {
	gens, _, _ := unstructured.NestedSlice(o.Object, "spec", "generators")
	var out []string
	for _, g := range gens {
		gen, _ := g.(map[string]any)
		git, _ := gen["git"].(map[string]any)
		files, _ := git["files"].([]any)
		for _, f := range files {
			m, _ := f.(map[string]any)
			if p, _ := m["path"].(string); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// readGroupRecords reads a groups file: a list of records with name, layer,
// enabled ("true"/"false" or a boolean) and catalogPath (or path).
func readGroupRecords(file string) ([]groupRecord, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the ApplicationSets read %s, which does not exist", file)
		}
		return nil, err
	}
	var raw []map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %s (a groups file is a list of records: name, layer, enabled, catalogPath)", file, render.CleanYAMLError(err))
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s holds no records", file)
	}
	var out []groupRecord
	for i, r := range raw {
		at := fmt.Sprintf("%s: record %d", file, i+1)
		str := func(key string) string { s, _ := r[key].(string); return strings.TrimSpace(s) }
		rec := groupRecord{Name: str("name"), Layer: str("layer"), Path: str("catalogPath")}
		if rec.Path == "" {
			rec.Path = str("path")
		}
		switch {
		case rec.Name == "":
			return nil, fmt.Errorf("%s has no name", at)
		case rec.Layer == "":
			return nil, fmt.Errorf("%s (%s) has no layer", at, rec.Name)
		case rec.Path == "":
			return nil, fmt.Errorf("%s (%s) has no catalogPath: init cannot tell where its Applications are", at, rec.Name)
		}
		switch v := r["enabled"].(type) {
		case bool:
			rec.Enabled = v
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("%s (%s): enabled: %q is not true or false", at, rec.Name, v)
			}
			rec.Enabled = b
		default:
			return nil, fmt.Errorf("%s (%s): enabled: want \"true\" or \"false\", got %v", at, rec.Name, r["enabled"])
		}
		if slices.ContainsFunc(out, func(o groupRecord) bool { return o.Name == rec.Name }) {
			return nil, fmt.Errorf("%s: group %s has two records", file, rec.Name)
		}
		out = append(out, rec)
	}
	return out, nil
}
