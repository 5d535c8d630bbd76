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

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
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
		set, file, problem := inf.readLayerAppSet(o)
		if other, dup := byLayer[set.Layer]; problem == "" && dup {
			problem = fmt.Sprintf("layer %s has another ApplicationSet, %s: a layer has one", set.Layer, other.Name)
		}
		if problem == "" {
			set.Wave, problem = syncWave(o)
		}
		if problem != "" {
			bad = append(bad, inf.describeAppSet(o)+": "+problem)
			continue
		}
		byLayer[set.Layer] = set
		groupsFiles[file] = append(groupsFiles[file], set.Name)
		p, _, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "project")
		projects[p] = append(projects[p], set.Name)
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
	if project, err = inf.oneProject(folder, projects); err != nil {
		return "", "", err
	}
	for f := range groupsFiles {
		groupsFile = filepath.Join(inf.RepoRoot, filepath.FromSlash(path.Clean(f)))
	}
	for _, s := range byLayer {
		inf.AppSets = append(inf.AppSets, s)
	}
	return groupsFile, project, nil
}

// describeAppSet names an ApplicationSet in messages, with its file when known.
func (inf *Inference) describeAppSet(o render.Object) string {
	if o.File != "" {
		return inf.repoRel(o.File) + ": ApplicationSet " + o.GetName()
	}
	return "ApplicationSet " + o.GetName()
}

// readLayerAppSet reads an ApplicationSet as a layer's: the layer its label or
// its selector names, and the one groups file its git generator reads. problem
// says why it cannot be one.
func (inf *Inference) readLayerAppSet(o render.Object) (set InferredAppSet, groupsFile, problem string) {
	set = InferredAppSet{Layer: o.GetLabels()[LayerLabel], Name: o.GetName()}
	if set.Layer == "" {
		if sel := selectedLayers(o.Unstructured); len(sel) == 1 {
			set.Layer = sel[0]
		}
	}
	if o.File != "" {
		set.File = inf.repoRel(o.File)
	}
	files := gitFiles(o.Unstructured)
	switch {
	case len(files) == 0:
		return set, "", "no git generator reads a groups file (spec.generators[].git.files[].path)"
	case len(files) > 1:
		return set, "", fmt.Sprintf("its git generators read several files (%s): a layer's ApplicationSet reads one groups file", strings.Join(files, ", "))
	case set.Layer == "":
		return set, "", fmt.Sprintf("its selector names no layer (selector: {matchLabels: {layer: <layer>}}) and it has no %s label", LayerLabel)
	case strings.ContainsAny(files[0], "*?[{"):
		return set, "", fmt.Sprintf("its git generator reads %q, a pattern: a layer's ApplicationSet reads one groups file", files[0])
	}
	return set, files[0], ""
}

// syncWave is an ApplicationSet's sync wave, nil when it has none.
func syncWave(o render.Object) (wave *int, problem string) {
	w, ok := o.GetAnnotations()[SyncWaveAnnotation]
	if !ok {
		return nil, ""
	}
	n, err := strconv.Atoi(strings.TrimSpace(w))
	if err != nil {
		return nil, fmt.Sprintf("annotation %s: %q is not a whole number", SyncWaveAnnotation, w)
	}
	return &n, ""
}

// oneProject is the AppProject the ApplicationSets' Applications use
// (projects: project -> ApplicationSets): one, and named, not templated.
func (inf *Inference) oneProject(folder string, projects map[string][]string) (string, error) {
	if len(projects) > 1 {
		return "", fmt.Errorf("the ApplicationSets of %s generate Applications of different projects (%s): an environment has one", inf.repoRel(folder), describeUses(projects))
	}
	var project string
	for p := range projects {
		switch {
		case p == "":
			return "", fmt.Errorf("the ApplicationSets of %s do not set spec.template.spec.project", inf.repoRel(folder))
		case strings.Contains(p, "{{"):
			return "", fmt.Errorf("the ApplicationSets of %s template their project (%q): init needs the AppProject's name", inf.repoRel(folder), p)
		}
		project = p
	}
	return project, nil
}

// describeUses writes value -> users as `"a" by x, y; "b" by z`, sorted.
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
