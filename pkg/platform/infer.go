package platform

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

// SyncWaveAnnotation orders Argo CD's objects; on the layers' ApplicationSets
// it gives init their bring-up order.
const SyncWaveAnnotation = "argocd.argoproj.io/sync-wave"

// Inference is what `kubectl profile init` read from an environment's existing
// tree (its ApplicationSets, the groups file they read, the catalog and the
// config) and the descriptor it infers from them, already validated: Content
// loads as Env does, and every profile renders.
type Inference struct {
	Env      string
	EnvDir   string // clusters/<env>
	RepoRoot string // the folder that holds clusters/
	// Path is the descriptor to write: clusters/<env>/platform.yaml.
	Path       string
	Descriptor Descriptor
	// Content is platform.yaml as init writes it.
	Content []byte
	// AppSets are the layers' ApplicationSets, in bring-up order.
	AppSets []InferredAppSet
	// Order says where the bring-up order came from.
	Order string
	// Read lists what was read, relative to the repository root.
	Read []string
	// Notes are what init could not infer, or inferred by a rule worth a
	// review; each says what to do.
	Notes []string
	// Unannotated are the manual-sync catalog Applications without a gate
	// annotation: costgate does not see them.
	Unannotated []App
	// Loaded is the environment as Load will read it once Content is written.
	Loaded *Env
}

// InferredAppSet is one layer's ApplicationSet as init found it.
type InferredAppSet struct {
	Layer string
	Name  string
	File  string // relative to the repository root ("" when unknown)
	Wave  *int   // its sync wave, when annotated
}

// groupRecord is one record of a groups file as the team wrote it.
type groupRecord struct {
	Name, Layer, Path string
	Enabled           bool
}

// Infer reads clusters/<env> (and the config file, configPath or else
// clusters/<env>/config.yaml) and infers the environment's descriptor. It
// reads files only and writes nothing; the result is validated as Load would
// validate the written file (descriptor, config, catalog, the ApplicationSets'
// names and every profile's apps). An error says what could not be inferred
// and why, naming the file.
func Infer(clustersDir, env, configPath string) (*Inference, error) {
	clustersDir, err := filepath.Abs(clustersDir)
	if err != nil {
		return nil, err
	}
	inf := &Inference{Env: env, EnvDir: filepath.Join(clustersDir, env), RepoRoot: filepath.Dir(clustersDir)}
	inf.Path = filepath.Join(inf.EnvDir, DescriptorFile)
	if fi, err := os.Stat(inf.EnvDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("no environment folder %s", inf.EnvDir)
	}
	d := &inf.Descriptor
	*d = Descriptor{APIVersion: descriptorAPIVersion, Kind: descriptorKind, Name: env}

	// The config: what the features say.
	if configPath == "" {
		configPath = filepath.Join(inf.EnvDir, ConfigFile)
	}
	if configPath, err = filepath.Abs(configPath); err != nil {
		return nil, err
	}
	var config Config
	if err := readYAML(configPath, &config, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no config file %s: pass --config with the file that holds repoURL, revision, namespace and features", configPath)
		}
		return nil, err
	}
	if rel := inf.envRel(configPath); rel != ConfigFile {
		d.Config = rel
	}
	inf.Read = append(inf.Read, inf.repoRel(configPath))

	// The ApplicationSets: the folder that renders them, each one's layer,
	// the groups file its generator reads, the project of its Applications.
	folder, objs, err := inf.findAppSets()
	if err != nil {
		return nil, err
	}
	d.AppSets = inf.envRel(folder)
	generated := false
	if k := render.KustomizationFile(folder); k != "" {
		inf.Read = append(inf.Read, inf.repoRel(k))
		data, err := os.ReadFile(k)
		if err != nil {
			return nil, err
		}
		generated = IsGenerated(data)
	}
	if isDefault := filepath.Clean(d.AppSets) == filepath.Clean(DefaultAppSets); generated != isDefault {
		d.AppSetsGenerated = &generated
	}
	groupsFile, project, err := inf.readAppSets(folder, objs)
	if err != nil {
		return nil, err
	}
	d.Project = project
	if !rendersProject(objs, project) {
		if err := inf.findProject(folder, project); err != nil {
			return nil, err
		}
	}
	d.GroupsFile = inf.envRel(groupsFile)
	inf.Read = append(inf.Read, inf.repoRel(groupsFile))

	// The groups file: layers, groups, enabled, catalog paths.
	records, err := readGroupRecords(groupsFile)
	if err != nil {
		return nil, err
	}
	if err := inf.inferLayers(records); err != nil {
		return nil, err
	}
	if d.Catalog, err = inf.inferCatalog(records); err != nil {
		return nil, err
	}
	if err := inf.inferGroups(records, config.Features, configPath); err != nil {
		return nil, err
	}
	inf.inferProfiles()

	// Write it as init will, and load that as Load will.
	if inf.Content, err = inf.format(); err != nil {
		return nil, err
	}
	if err := inf.validate(clustersDir); err != nil {
		return nil, err
	}
	return inf, nil
}

// walkEnv calls dir for each folder of the environment and yaml for each
// YAML file, hidden folders left out.
func (inf *Inference) walkEnv(dir func(string), yaml func(string) error) error {
	return filepath.WalkDir(inf.EnvDir, func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir() && p != inf.EnvDir && strings.HasPrefix(e.Name(), "."):
			return filepath.SkipDir
		case e.IsDir():
			if dir != nil {
				dir(p)
			}
			return nil
		case isYAML(e.Name()):
			return yaml(p)
		}
		return nil
	})
}

func rendersProject(objs []render.Object, name string) bool {
	return slices.ContainsFunc(objs, func(o render.Object) bool {
		return o.GroupVersionKind().Group == ArgoGroup && o.GetKind() == KindAppProject && o.GetName() == name
	})
}

// findProject looks in the environment folder for the AppProject the
// ApplicationSets name when their folder does not render it: a team that
// keeps its AppProjects in a folder of their own gets that folder as
// projects:, which render and apply include first. Found nowhere, it must be
// in the cluster already: init says so.
func (inf *Inference) findProject(appsets, project string) error {
	var dirs []string
	err := inf.walkEnv(nil, func(p string) error {
		if slices.Contains(dirs, filepath.Dir(p)) {
			return nil
		}
		objs, err := render.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, o := range objs {
			meta, _ := o["metadata"].(map[string]any)
			if o["kind"] == KindAppProject && meta["name"] == project {
				dirs = append(dirs, filepath.Dir(p))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		objs, err := render.Dir(dir)
		if err != nil || !rendersProject(objs, project) || slices.ContainsFunc(objs, func(o render.Object) bool { return o.GetKind() != KindAppProject }) {
			continue // it must render AppProjects alone
		}
		inf.Descriptor.Projects = inf.envRel(dir)
		inf.Read = append(inf.Read, inf.repoRel(dir))
		return nil
	}
	inf.Notes = append(inf.Notes, fmt.Sprintf("the ApplicationSets name AppProject %s, which %s does not render and no folder of %s renders alone: "+
		"it must be in the cluster before kubectl profile apply (which refuses otherwise)", project, inf.repoRel(appsets), inf.repoRel(inf.EnvDir)))
	return nil
}

// envRel is a path relative to the environment folder, with slashes.
func (inf *Inference) envRel(p string) string {
	rel, err := filepath.Rel(inf.EnvDir, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// repoRel is a path relative to the repository root, for messages.
func (inf *Inference) repoRel(p string) string {
	rel, err := filepath.Rel(inf.RepoRoot, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return filepath.ToSlash(rel)
}

// findAppSets finds the folder that renders the environment's ApplicationSets:
// the kustomization that renders them and is not itself a base of another that
// does (the overlay, not its base), else the one folder of YAML files that
// holds them.
func (inf *Inference) findAppSets() (string, []render.Object, error) {
	var kustomizations, loose []string
	err := inf.walkEnv(func(dir string) {
		if render.KustomizationFile(dir) != "" {
			kustomizations = append(kustomizations, dir)
		}
	}, func(p string) error {
		if render.KustomizationFile(filepath.Dir(p)) == p {
			return nil
		}
		objs, err := render.ReadFile(p)
		if err != nil {
			return nil // not this folder's business: what matters is read again below
		}
		if slices.ContainsFunc(objs, isAppSet) {
			loose = append(loose, p)
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	type candidate struct {
		dir  string
		objs []render.Object
	}
	var candidates []candidate
	var failed, mixed []string
	for _, dir := range kustomizations {
		objs, err := render.Dir(dir)
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		sets, others := 0, []string{}
		for _, o := range objs {
			switch {
			case isAppSet(o.Object):
				sets++
			case o.GroupVersionKind().Group == ArgoGroup && o.GetKind() == KindAppProject:
			default:
				others = append(others, o.GetKind()+" "+o.GetName())
			}
		}
		switch {
		case sets == 0:
		case len(others) > 0:
			mixed = append(mixed, fmt.Sprintf("%s (also %s)", inf.repoRel(dir), strings.Join(others, ", ")))
		default:
			candidates = append(candidates, candidate{dir, objs})
		}
	}
	// A kustomization another one builds on (a base of an overlay) is not
	// what Argo CD is given.
	var from []string
	for _, c := range candidates {
		from = append(from, c.dir)
	}
	included := includedKustomizations(kustomizations, from)
	var top []candidate
	for _, c := range candidates {
		if !included[c.dir] {
			top = append(top, c)
		}
	}
	switch {
	case len(top) == 1:
		return top[0].dir, top[0].objs, nil
	case len(top) > 1:
		var dirs []string
		for _, c := range top {
			dirs = append(dirs, inf.repoRel(c.dir))
		}
		return "", nil, fmt.Errorf("several kustomizations render ApplicationSets (%s): init cannot tell which one is the environment's; "+
			"write %s by hand with appsets: <the folder>", strings.Join(dirs, ", "), inf.repoRel(inf.Path))
	}
	dirs := map[string]bool{}
	for _, f := range loose {
		dirs[filepath.Dir(f)] = true
	}
	switch len(dirs) {
	case 1:
		for dir := range dirs {
			objs, err := render.Dir(dir)
			if err != nil {
				return "", nil, err
			}
			return dir, objs, nil
		}
	case 0:
		msg := fmt.Sprintf("no ApplicationSet under %s: init reads a tree with one ApplicationSet per layer (a git-files generator on a groups file, its selector naming the layer)", inf.repoRel(inf.EnvDir))
		if len(mixed) > 0 {
			msg += "; these kustomizations render ApplicationSets among other kinds, which the appsets folder may not hold: " + strings.Join(mixed, "; ")
		}
		if len(failed) > 0 {
			msg += "; these kustomizations do not build: " + strings.Join(failed, "; ")
		}
		return "", nil, errors.New(msg)
	}
	var names []string
	for dir := range dirs {
		names = append(names, inf.repoRel(dir))
	}
	sort.Strings(names)
	return "", nil, fmt.Errorf("ApplicationSets are in several folders (%s) and no kustomization renders them all: "+
		"put them in one folder, or add a kustomization.yaml that lists them", strings.Join(names, ", "))
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func isAppSet(obj map[string]any) bool {
	apiVersion, _ := obj["apiVersion"].(string)
	return obj["kind"] == KindApplicationSet && strings.HasPrefix(apiVersion, ArgoGroup+"/")
}

// includedKustomizations are the kustomization folders one of from lists in
// its resources, bases or components, directly or through others of dirs.
func includedKustomizations(dirs, from []string) map[string]bool {
	edges := map[string][]string{}
	for _, dir := range dirs {
		var k struct {
			Resources  []string `json:"resources"`
			Bases      []string `json:"bases"`
			Components []string `json:"components"`
		}
		data, err := os.ReadFile(render.KustomizationFile(dir))
		if err != nil || yaml.Unmarshal(data, &k) != nil {
			continue
		}
		for _, r := range slices.Concat(k.Resources, k.Bases, k.Components) {
			if strings.Contains(r, "://") || filepath.IsAbs(r) {
				continue
			}
			target := filepath.Join(dir, filepath.FromSlash(r))
			if fi, err := os.Stat(target); err == nil && fi.IsDir() {
				edges[dir] = append(edges[dir], target)
			}
		}
	}
	out := map[string]bool{}
	var visit func(string)
	visit = func(dir string) {
		for _, t := range edges[dir] {
			if !out[t] {
				out[t] = true
				visit(t)
			}
		}
	}
	for _, dir := range from {
		visit(dir)
	}
	return out
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

// inferLayers orders the layers: by the ApplicationSets' sync waves when they
// carry any, else in the groups file's order of first appearance.
func (inf *Inference) inferLayers(records []groupRecord) error {
	byLayer := map[string]InferredAppSet{}
	for _, s := range inf.AppSets {
		byLayer[s.Layer] = s
	}
	var order []string
	var orphans []string
	for _, r := range records {
		if slices.Contains(order, r.Layer) {
			continue
		}
		if _, ok := byLayer[r.Layer]; !ok {
			orphans = append(orphans, fmt.Sprintf("%s (group %s)", r.Layer, r.Name))
		}
		order = append(order, r.Layer)
	}
	if len(orphans) > 0 {
		return fmt.Errorf("the groups file names layers no ApplicationSet selects: %s", strings.Join(orphans, ", "))
	}
	var empty []string
	for _, s := range inf.AppSets {
		if !slices.Contains(order, s.Layer) {
			empty = append(empty, fmt.Sprintf("%s (ApplicationSet %s)", s.Layer, s.Name))
		}
	}
	if len(empty) > 0 {
		sort.Strings(empty)
		return fmt.Errorf("the groups file has no group of layer(s) %s: a layer needs at least one group", strings.Join(empty, ", "))
	}
	inf.Order = "the groups file's order"
	waves := slices.ContainsFunc(inf.AppSets, func(s InferredAppSet) bool { return s.Wave != nil })
	if waves {
		inf.Order = "the ApplicationSets' sync waves (" + SyncWaveAnnotation + ")"
		byFile := slices.Clone(order)
		wave := func(l string) int {
			if w := byLayer[l].Wave; w != nil {
				return *w
			}
			return 0 // Argo CD's default wave
		}
		slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(wave(a), wave(b)) })
		if !slices.Equal(order, byFile) {
			inf.Notes = append(inf.Notes, fmt.Sprintf("the sync waves order the layers %s, the groups file %s: the layers follow the sync waves, "+
				"so resolve would reorder the groups file", strings.Join(order, ", "), strings.Join(byFile, ", ")))
		}
	}
	inf.AppSets = inf.AppSets[:0]
	for _, l := range order {
		inf.AppSets = append(inf.AppSets, byLayer[l])
		inf.Descriptor.Layers = append(inf.Descriptor.Layers, Layer{Name: l})
	}
	return nil
}

// inferCatalog finds the catalog folder: every record's catalogPath is
// <catalog>/<group> in the repository.
func (inf *Inference) inferCatalog(records []groupRecord) (string, error) {
	catalogs := map[string][]string{}
	var misnamed []string
	for _, r := range records {
		rel := inf.envRel(filepath.Join(inf.RepoRoot, filepath.FromSlash(path.Clean(r.Path))))
		if path.Base(rel) != r.Name {
			misnamed = append(misnamed, fmt.Sprintf("%s (%s)", r.Name, r.Path))
			continue
		}
		catalogs[path.Dir(rel)] = append(catalogs[path.Dir(rel)], r.Name)
	}
	if len(misnamed) > 0 {
		return "", fmt.Errorf("the catalog folders of group(s) %s are not named after the group: the descriptor says catalog: <folder>, with one sub-folder per group named after it",
			strings.Join(misnamed, ", "))
	}
	if len(catalogs) > 1 {
		return "", fmt.Errorf("the groups' catalog folders are in several folders (%s): the descriptor has one catalog folder", describeUses(catalogs))
	}
	var catalog string
	for c := range catalogs {
		catalog = c
	}
	dir := filepath.Join(inf.EnvDir, filepath.FromSlash(catalog))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("the groups file's catalog folder %s: %v", inf.repoRel(dir), err)
	}
	var unused []string
	for _, e := range entries {
		if e.IsDir() && !slices.ContainsFunc(records, func(r groupRecord) bool { return r.Name == e.Name() }) {
			unused = append(unused, path.Join(catalog, e.Name()))
		}
	}
	if len(unused) > 0 {
		inf.Notes = append(inf.Notes, fmt.Sprintf("%d catalog folder(s) have no record in the groups file, so no ApplicationSet deploys them: %s (left out; add a group to platform.yaml to deploy one)",
			len(unused), strings.Join(unused, ", ")))
	}
	inf.Read = append(inf.Read, inf.repoRel(dir)+"/")
	return catalog, nil
}

// inferGroups: a group the config's features name (by its name, or by a
// feature that can only be its own) is switched by that feature; a group the
// config does not mention is core when enabled now, else off by default.
func (inf *Inference) inferGroups(records []groupRecord, features map[string]bool, configPath string) error {
	feature := map[string]string{} // group -> feature
	used := map[string]bool{}
	for _, r := range records {
		if _, ok := features[r.Name]; ok {
			feature[r.Name], used[r.Name] = r.Name, true
		}
	}
	var left []string
	for f := range features {
		if !used[f] {
			left = append(left, f)
		}
	}
	sort.Strings(left)
	var unmatched []string
	for _, f := range left {
		var candidates []groupRecord
		for _, exact := range []bool{true, false} { // the same words first, then a run of them
			for _, r := range records {
				if _, taken := feature[r.Name]; !taken && similar(f, r.Name, exact) {
					candidates = append(candidates, r)
				}
			}
			if len(candidates) > 0 {
				break
			}
		}
		if len(candidates) > 1 { // prefer the groups the feature's value agrees with
			var agree []groupRecord
			for _, r := range candidates {
				if r.Enabled == features[f] {
					agree = append(agree, r)
				}
			}
			if len(agree) > 0 {
				candidates = agree
			}
		}
		switch len(candidates) {
		case 1:
			feature[candidates[0].Name], used[f] = f, true
		case 0:
			unmatched = append(unmatched, f)
		default:
			var names []string
			for _, r := range candidates {
				names = append(names, r.Name)
			}
			unmatched = append(unmatched, fmt.Sprintf("%s (could be %s)", f, strings.Join(names, " or ")))
		}
	}
	if len(unmatched) > 0 {
		var free []string
		for _, r := range records {
			if _, ok := feature[r.Name]; !ok {
				free = append(free, r.Name)
			}
		}
		return fmt.Errorf("%s: features: init cannot tell which group %s switch (groups no feature names: %s); "+
			"rename each to the group it switches, or remove the ones no group uses, and run init again",
			configPath, strings.Join(unmatched, ", "), strings.Join(free, ", "))
	}
	layers := inf.Descriptor.Layers
	var core []string
	for _, r := range records {
		g := Group{Name: r.Name}
		switch f, ok := feature[r.Name]; {
		case ok && f != r.Name:
			g.Feature = f
		case ok:
		case r.Enabled:
			g.Core = true
			core = append(core, r.Name)
		}
		i := slices.IndexFunc(layers, func(l Layer) bool { return l.Name == r.Layer })
		layers[i].Groups = append(layers[i].Groups, g)
	}
	if len(core) > 0 {
		inf.Notes = append(inf.Notes, fmt.Sprintf("core (always on; the config has no feature for them and they are enabled now): %s; "+
			"if the config should be able to switch one off, replace its core: true with default: true in platform.yaml", strings.Join(core, ", ")))
	}
	return nil
}

var tokenSep = regexp.MustCompile(`[-_. ]+`)

// similar says whether a feature key and a group name are the same words
// ("gpu_models" and "gpu-models"), or, unless exact, one's words are a run of
// the other's ("ui" and "chat-ui").
func similar(feature, group string, exact bool) bool {
	f := tokenSep.Split(strings.ToLower(feature), -1)
	g := tokenSep.Split(strings.ToLower(group), -1)
	if exact {
		return slices.Equal(f, g)
	}
	return containsRun(g, f) || containsRun(f, g)
}

func containsRun(long, short []string) bool {
	for i := 0; i+len(short) <= len(long); i++ {
		if slices.Equal(long[i:i+len(short)], short) {
			return true
		}
	}
	return false
}

// inferProfiles: one additive profile per layer prefix, named after its
// widest layer, each extending the one before.
func (inf *Inference) inferProfiles() {
	layers := inf.Descriptor.Layers
	for i, l := range layers {
		p := ProfileSpec{Name: l.Name, Layers: []string{l.Name}, Description: "layer " + l.Name}
		if i > 0 {
			p.Extends = layers[i-1].Name
			p.Description = fmt.Sprintf("layers %s to %s", layers[0].Name, l.Name)
		}
		inf.Descriptor.Profiles = append(inf.Descriptor.Profiles, p)
	}
}

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

// validate loads the descriptor as Load will, renders the ApplicationSets and
// every profile's apps, and says what the tree still needs: generated files
// that do not mean what resolve would write, manual-sync apps without gate
// annotations.
func (inf *Inference) validate(clustersDir string) error {
	env, err := load(clustersDir, inf.Env, inf.Content)
	if err != nil {
		return fmt.Errorf("the descriptor init inferred does not load, so nothing was written: %v\n%s", err, inf.Content)
	}
	for _, p := range env.Profiles() {
		if _, err := env.ExpectedApps(p); err != nil {
			return fmt.Errorf("the descriptor init inferred does not render, so nothing was written: %v", err)
		}
	}
	sets, _ := env.AppSets()
	for _, s := range inf.AppSets {
		if got := sets.Layers[s.Layer]; got == nil || got.Name != s.Name {
			return fmt.Errorf("layer %s: init read ApplicationSet %s, the descriptor renders %v (a bug)", s.Layer, s.Name, got)
		}
	}
	stale, err := env.StaleFiles()
	if err != nil {
		return err
	}
	for _, s := range stale {
		note := fmt.Sprintf("%s does not mean what kubectl profile resolve would write from the config, so resolve --check fails and render refuses until it does:\n%s",
			inf.repoRel(s.Path), strings.TrimRight(s.Diff, "\n"))
		if s.HandWritten() {
			note += "\n  " + s.Hint
		}
		inf.Notes = append(inf.Notes, note)
	}
	for _, a := range env.Apps {
		if a.ManualUngated() {
			inf.Unannotated = append(inf.Unannotated, a)
		}
	}
	if n := len(inf.Unannotated); n > 0 {
		var files []string
		for _, a := range inf.Unannotated {
			files = append(files, inf.envRel(a.File))
		}
		inf.Notes = append(inf.Notes, fmt.Sprintf("%d manual-sync app(s) have no gate annotation, so costgate does not see them nor their cost: add %sgate and %scost-per-hour to: %s (kubectl costgate lint --env %s lists them)",
			n, GateAnnotationPrefix, GateAnnotationPrefix, strings.Join(files, ", "), inf.Env))
	}
	inf.Loaded = env
	return nil
}

// DescriptorExistsError is init refusing to overwrite a descriptor.
type DescriptorExistsError struct{ Path string }

func (e *DescriptorExistsError) Error() string {
	return fmt.Sprintf("%s already exists: init does not overwrite it (pass --force to replace it with what init infers now; nothing was written)", e.Path)
}

// CheckNoDescriptor returns a *DescriptorExistsError when the environment
// already has a descriptor.
func CheckNoDescriptor(clustersDir, env string) error {
	p := filepath.Join(clustersDir, env, DescriptorFile)
	if _, err := os.Lstat(p); err == nil {
		return &DescriptorExistsError{Path: p}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Write writes the descriptor, atomically (a temporary file in the same
// folder, renamed over the descriptor), and nothing else. Without force it
// refuses to replace an existing descriptor.
func (inf *Inference) Write(force bool) error {
	if !force {
		if err := CheckNoDescriptor(filepath.Dir(inf.EnvDir), inf.Env); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(inf.EnvDir, "."+DescriptorFile+".*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(inf.Content); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), inf.Path); err != nil {
		return err
	}
	done = true
	return nil
}
