package platform

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

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
	Host     Host   // the CLI the notes name commands of
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

// Infer reads clusters/<env> (and the config file, configPath or else
// clusters/<env>/config.yaml) and infers the environment's descriptor. It
// reads files only and writes nothing; the result is validated as Load would
// validate the written file (descriptor, config, catalog, the ApplicationSets'
// names and every profile's apps). An error says what could not be inferred
// and why, naming the file.
func Infer(clustersDir, env, configPath string, host Host) (*Inference, error) {
	clustersDir, err := filepath.Abs(clustersDir)
	if err != nil {
		return nil, err
	}
	inf := &Inference{Env: env, EnvDir: filepath.Join(clustersDir, env), RepoRoot: filepath.Dir(clustersDir), Host: host}
	inf.Path = filepath.Join(inf.EnvDir, DescriptorFile)
	if fi, err := os.Stat(inf.EnvDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("no environment folder %s", inf.EnvDir)
	}
	inf.Descriptor = Descriptor{APIVersion: descriptorAPIVersion, Kind: descriptorKind, Name: env}

	config, configPath, err := inf.readConfig(configPath)
	if err != nil {
		return nil, err
	}
	groupsFile, err := inf.inferAppSets()
	if err != nil {
		return nil, err
	}

	// The groups file: layers, groups, enabled, catalog paths.
	records, err := readGroupRecords(groupsFile)
	if err != nil {
		return nil, err
	}
	if err := inf.inferLayers(records); err != nil {
		return nil, err
	}
	if inf.Descriptor.Catalog, err = inf.inferCatalog(records); err != nil {
		return nil, err
	}
	if err := inf.inferGroups(records, config.Features, configPath); err != nil {
		return nil, err
	}
	inf.inferProfiles()
	inf.inferCluster()

	// Write it as init will, and load that as Load will.
	if inf.Content, err = inf.format(); err != nil {
		return nil, err
	}
	if err := inf.validate(clustersDir); err != nil {
		return nil, err
	}
	return inf, nil
}

// readConfig reads the config file (configPath, else the environment's
// config.yaml), for what its features say; it returns the file's absolute path.
func (inf *Inference) readConfig(configPath string) (Config, string, error) {
	var config Config
	if configPath == "" {
		configPath = filepath.Join(inf.EnvDir, ConfigFile)
	}
	configPath, err := filepath.Abs(configPath)
	if err != nil {
		return config, "", err
	}
	if err := readYAML(configPath, &config, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return config, "", fmt.Errorf("no config file %s: pass --config with the file that holds repoURL, revision, namespace and features", configPath)
		}
		return config, "", err
	}
	if rel := inf.envRel(configPath); rel != ConfigFile {
		inf.Descriptor.Config = rel
	}
	inf.Read = append(inf.Read, inf.repoRel(configPath))
	return config, configPath, nil
}

// inferAppSets finds the folder that renders the ApplicationSets and reads
// each one's layer, the groups file its generator reads and the project of its
// Applications; it returns the groups file.
func (inf *Inference) inferAppSets() (groupsFile string, err error) {
	d := &inf.Descriptor
	folder, objs, err := inf.findAppSets()
	if err != nil {
		return "", err
	}
	d.AppSets = inf.envRel(folder)
	generated := false
	if k := render.KustomizationFile(folder); k != "" {
		inf.Read = append(inf.Read, inf.repoRel(k))
		data, err := os.ReadFile(k)
		if err != nil {
			return "", err
		}
		generated = IsGenerated(data)
	}
	if isDefault := filepath.Clean(d.AppSets) == filepath.Clean(DefaultAppSets); generated != isDefault {
		d.AppSetsGenerated = &generated
	}
	groupsFile, project, err := inf.readAppSets(folder, objs)
	if err != nil {
		return "", err
	}
	d.Project = project
	if !rendersProject(objs, project) {
		if err := inf.findProject(folder, project); err != nil {
			return "", err
		}
	}
	d.GroupsFile = inf.envRel(groupsFile)
	inf.Read = append(inf.Read, inf.repoRel(groupsFile))
	return groupsFile, nil
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
	feature, unmatched := matchFeatures(records, features)
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
		note := fmt.Sprintf("%s does not mean what %s resolve would write from the config, so resolve --check fails and render refuses until it does:\n%s",
			inf.repoRel(s.Path), inf.Host.Cmd("profile"), strings.TrimRight(s.Diff, "\n"))
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
		inf.Notes = append(inf.Notes, fmt.Sprintf("%d manual-sync app(s) have no gate annotation, so costgate does not see them nor their cost: add %sgate and %scost-per-hour to: %s (%s lint --env %s lists them)",
			n, GateAnnotationPrefix, GateAnnotationPrefix, strings.Join(files, ", "), inf.Host.Cmd("costgate"), inf.Env))
	}
	inf.Loaded = env
	return nil
}
