package platform

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// A catalog whose kustomizations resolve generates (catalogGenerated) is
// deployed as Argo CD renders each group folder: the Application files with
// the config applied. This file computes that, once, for resolve (which writes
// it as JSON patches) and for everything that reads the catalog as deployed
// (Effective: lint, costgate lint).

// patchOp is one JSON patch operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// GitSource is a source of an Application that is a folder of this repository:
// a repoURL that is neither a chart repository nor an OCI artifact, with a path.
type GitSource struct {
	// Pointer is the source's JSON pointer in the Application (/spec/source,
	// /spec/sources/1).
	Pointer string
	RepoURL string
	Path    string
	// Kustomize is the source's kustomize options (patches, images, ...),
	// which Argo CD adds to the folder's kustomization before it builds.
	Kustomize map[string]any
}

// GitSources lists an Application's sources that are folders of this
// repository, as written (or as Effective returns it).
func GitSources(manifest map[string]any) []GitSource {
	spec, _ := manifest["spec"].(map[string]any)
	var out []GitSource
	add := func(pointer string, src map[string]any) {
		repoURL, _ := src["repoURL"].(string)
		path, _ := src["path"].(string)
		_, chart := src["chart"]
		if path == "" || chart || strings.HasPrefix(repoURL, "oci://") {
			return
		}
		options, _ := src["kustomize"].(map[string]any)
		out = append(out, GitSource{Pointer: pointer, RepoURL: repoURL, Path: path, Kustomize: options})
	}
	if src, ok := spec["source"].(map[string]any); ok {
		add("/spec/source", src)
	}
	sources, _ := spec["sources"].([]any)
	for i, s := range sources {
		if src, ok := s.(map[string]any); ok {
			add("/spec/sources/"+strconv.Itoa(i), src)
		}
	}
	return out
}

// catalogOps is what the generated kustomization changes in one Application:
// its git sources point at the config's repoURL and revision, and its ${key}
// placeholders carry the settings. Errors name the file and the field.
func (e *Env) catalogOps(a App) ([]patchOp, error) {
	var ops []patchOp
	for _, s := range GitSources(a.Manifest) {
		ops = append(ops,
			patchOp{Op: "replace", Path: s.Pointer + "/repoURL", Value: e.Config.RepoURL},
			patchOp{Op: "replace", Path: s.Pointer + "/targetRevision", Value: e.Config.Revision})
	}
	var walk func(pointer string, v any) error
	walk = func(pointer string, v any) error {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range keys(v) {
				if err := walk(pointer+"/"+escapePointer(k), v[k]); err != nil {
					return err
				}
			}
		case []any:
			for i, item := range v {
				if err := walk(pointer+"/"+strconv.Itoa(i), item); err != nil {
					return err
				}
			}
		case string:
			if !placeholder.MatchString(v) {
				return nil
			}
			expanded, err := e.Expand(v)
			if err != nil {
				return fmt.Errorf("%s: Application %s: %s: %v", a.File, a.Name, pointer, err)
			}
			if expanded != v {
				ops = append(ops, patchOp{Op: "replace", Path: pointer, Value: expanded})
			}
		}
		return nil
	}
	if err := walk("", a.Manifest); err != nil {
		return nil, err
	}
	return ops, nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Effective is an Application as Argo CD deploys it: with the config applied
// when the catalog is generated (see catalogOps), as written otherwise. The
// result is a copy.
func (e *Env) Effective(a App) (map[string]any, error) {
	out := runtime.DeepCopyJSON(a.Manifest)
	if !e.Descriptor.CatalogGenerated {
		return out, nil
	}
	ops, err := e.catalogOps(a)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		setPointer(out, op.Path, op.Value)
	}
	return out, nil
}

// setPointer replaces the value at a JSON pointer that exists (catalogOps only
// makes such pointers).
func setPointer(obj map[string]any, pointer string, value any) {
	parts := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	var cur any = obj
	for i, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = value
				return
			}
			cur = c[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || n >= len(c) {
				return
			}
			if last {
				c[n] = value
				return
			}
			cur = c[n]
		default:
			return
		}
	}
}

// catalogKustomization is a group folder's generated kustomization: its
// Application files (those of apps left out by a failing condition excepted)
// and one JSON patch per Application the config changes.
func (e *Env) catalogKustomization(group string) ([]byte, error) {
	dir := e.CatalogDir(group)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	resources := []string{}
	var patches []map[string]any
	for _, f := range entries {
		name := f.Name()
		if f.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) || isKustomizationFile(name) {
			continue
		}
		path := filepath.Join(dir, name)
		var apps []App
		for _, a := range e.Apps {
			if a.File == path {
				apps = append(apps, a)
			}
		}
		included := 0
		for _, a := range apps {
			if e.AppIncluded(a) {
				included++
			}
		}
		if included < len(apps) && included > 0 {
			return nil, fmt.Errorf("%s: holds several Applications and a condition leaves out only some: give each its own file", path)
		}
		if len(apps) > 0 && included == 0 {
			continue
		}
		resources = append(resources, name)
		for _, a := range apps {
			ops, err := e.catalogOps(a)
			if err != nil {
				return nil, err
			}
			if len(ops) == 0 {
				continue
			}
			patch, err := yaml.Marshal(ops)
			if err != nil {
				return nil, err
			}
			patches = append(patches, map[string]any{
				"target": map[string]string{"group": ArgoGroup, "kind": KindApplication, "name": a.Name},
				"patch":  string(patch),
			})
		}
	}
	sort.Strings(resources)
	k := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  resources,
	}
	if len(patches) > 0 {
		k["patches"] = patches
	}
	return yaml.Marshal(k)
}

func isKustomizationFile(name string) bool {
	return name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization"
}
