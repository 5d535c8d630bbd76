package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

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
		"it must be in the cluster before %s apply (which refuses otherwise)", project, inf.repoRel(appsets), inf.repoRel(inf.EnvDir), inf.Host.Cmd("profile")))
	return nil
}

// findAppSets finds the folder that renders the environment's ApplicationSets:
// the kustomization that renders them and is not itself a base of another that
// does (the overlay, not its base), else the one folder of YAML files that
// holds them.
func (inf *Inference) findAppSets() (string, []render.Object, error) {
	kustomizations, loose, err := inf.scanForAppSets()
	if err != nil {
		return "", nil, err
	}
	candidates, mixed, failed := inf.renderAppSetKustomizations(kustomizations)
	// A kustomization another one builds on (a base of an overlay) is not
	// what Argo CD is given.
	var from []string
	for _, c := range candidates {
		from = append(from, c.dir)
	}
	included := includedKustomizations(kustomizations, from)
	var top []renderedDir
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
	return inf.looseAppSetsFolder(loose, mixed, failed)
}

// renderedDir is a folder and what it renders.
type renderedDir struct {
	dir  string
	objs []render.Object
}

// scanForAppSets lists the environment's kustomization folders, and the YAML
// files outside a kustomization.yaml that hold an ApplicationSet.
func (inf *Inference) scanForAppSets() (kustomizations, loose []string, err error) {
	err = inf.walkEnv(func(dir string) {
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
	return kustomizations, loose, err
}

// renderAppSetKustomizations builds each kustomization: candidates render
// ApplicationSets (and AppProjects) only; mixed render them among other kinds,
// which an appsets folder may not hold; failed do not build. The last two are
// for the message when no folder fits.
func (inf *Inference) renderAppSetKustomizations(dirs []string) (candidates []renderedDir, mixed, failed []string) {
	for _, dir := range dirs {
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
			candidates = append(candidates, renderedDir{dir, objs})
		}
	}
	return candidates, mixed, failed
}

// looseAppSetsFolder is the one folder that holds the loose ApplicationSet
// files, when no kustomization renders them.
func (inf *Inference) looseAppSetsFolder(loose, mixed, failed []string) (string, []render.Object, error) {
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

// isAppSet checks the API group too: another tool may have a kind of that name.
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
