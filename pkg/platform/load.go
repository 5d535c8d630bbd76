package platform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

// FindClustersDir returns the nearest folder named clusters at or above start.
func FindClustersDir(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if filepath.Base(dir) == "clusters" {
			return dir, nil
		}
		if fi, err := os.Stat(filepath.Join(dir, "clusters")); err == nil && fi.IsDir() {
			return filepath.Join(dir, "clusters"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no clusters/ folder at or above %s: run from the platform repository or pass --dir", start)
		}
		dir = parent
	}
}

// EnvNames lists the environments in a clusters folder: the sub-folders that hold a platform.yaml.
func EnvNames(clustersDir string) ([]string, error) {
	entries, err := os.ReadDir(clustersDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		// A folder, or a link to one (a fleet assembled from several repositories).
		if fi, err := os.Stat(filepath.Join(clustersDir, e.Name())); err != nil || !fi.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(clustersDir, e.Name(), DescriptorFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Load reads and validates clusters/<name>. An empty name picks the only
// environment there is, and is an error naming them all when there are several.
func Load(clustersDir, name string) (*Env, error) {
	name, data, err := readDescriptor(clustersDir, name)
	if err != nil {
		return nil, err
	}
	return load(clustersDir, name, data)
}

// LoadLayout is Load without the catalog: the descriptor, the config and what
// the ApplicationSets read, for the commands whose result does not depend on
// the catalog's Applications (render). Its Apps is empty, and Generated lists
// only the groups file and the appsets overlay.
func LoadLayout(clustersDir, name string) (*Env, error) {
	name, data, err := readDescriptor(clustersDir, name)
	if err != nil {
		return nil, err
	}
	env, err := parseEnv(clustersDir, name, data)
	if err != nil {
		return nil, err
	}
	env.layoutOnly = true
	return env, nil
}

// readDescriptor picks the environment (an empty name: the only one there is)
// and reads its platform.yaml.
func readDescriptor(clustersDir, name string) (string, []byte, error) {
	names, err := EnvNames(clustersDir)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", clustersDir, err)
	}
	switch {
	case name == "" && len(names) == 1:
		name = names[0]
	case name == "" && len(names) == 0:
		return "", nil, fmt.Errorf("%s holds no environment (a folder with a %s)", clustersDir, DescriptorFile)
	case name == "":
		return "", nil, fmt.Errorf("%s holds several environments (%s): choose one with --env", clustersDir, strings.Join(names, ", "))
	case !slices.Contains(names, name):
		return "", nil, fmt.Errorf("unknown environment %q in %s (known: %s)", name, clustersDir, strings.Join(names, ", "))
	}
	data, err := os.ReadFile(filepath.Join(clustersDir, name, DescriptorFile))
	return name, data, err
}

// load validates an environment whose descriptor is data (the content of
// clusters/<name>/platform.yaml, which need not exist yet: init validates what
// it would write before writing it).
func load(clustersDir, name string, data []byte) (*Env, error) {
	env, err := parseEnv(clustersDir, name, data)
	if err != nil {
		return nil, err
	}
	if err := env.loadCatalog(); err != nil {
		return nil, err
	}
	if err := env.validateAppRules(); err != nil {
		return nil, err
	}
	return env, nil
}

// parseEnv reads and validates the descriptor (data) and the config file.
func parseEnv(clustersDir, name string, data []byte) (*Env, error) {
	env := &Env{Name: name, Dir: filepath.Join(clustersDir, name), ClustersDir: clustersDir}
	if err := decodeYAML(filepath.Join(env.Dir, DescriptorFile), data, &env.Descriptor, true); err != nil {
		return nil, err
	}
	if err := env.validateDescriptor(); err != nil {
		return nil, err
	}
	// Not strict: the config file may be shared with other tooling, whose keys
	// are not ours to judge. features: is checked against the groups below.
	if err := readYAML(env.ConfigPath(), &env.Config, false); err != nil {
		return nil, err
	}
	if err := readYAML(env.ConfigPath(), &env.Config.Raw, false); err != nil {
		return nil, err
	}
	if err := env.validateConfig(); err != nil {
		return nil, err
	}
	return env, nil
}

// readYAML decodes one YAML document, strictly (unknown fields are errors) when
// strict, with errors that name the file.
func readYAML(path string, into any, strict bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return decodeYAML(path, data, into, strict)
}

// decodeYAML decodes data read from path (named in errors).
func decodeYAML(path string, data []byte, into any, strict bool) (err error) {
	if strict {
		err = yaml.UnmarshalStrict(data, into)
	} else {
		err = yaml.Unmarshal(data, into)
	}
	if err != nil {
		return fmt.Errorf("%s: %s", path, render.CleanYAMLError(err))
	}
	return nil
}

func (e *Env) loadCatalog() error {
	// The catalog files are read in parallel (parsing YAML is most of a load),
	// and kept in layer, group and file order.
	type file struct {
		path, group, layer string
		apps               []App
		err                error
	}
	var files []*file
	for _, l := range e.Descriptor.Layers {
		for _, g := range l.Groups {
			dir := e.CatalogDir(g.Name)
			entries, err := os.ReadDir(dir)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("%s: group %q (layer %s) has no catalog folder %s", e.path(DescriptorFile), g.Name, l.Name, dir)
				}
				return err
			}
			for _, f := range entries {
				if f.IsDir() || !(strings.HasSuffix(f.Name(), ".yaml") || strings.HasSuffix(f.Name(), ".yml")) || isKustomizationFile(f.Name()) {
					continue
				}
				files = append(files, &file{path: filepath.Join(dir, f.Name()), group: g.Name, layer: l.Name})
			}
		}
	}
	next := make(chan *file)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				f.apps, f.err = readApps(f.path, f.group, f.layer)
			}
		}()
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	for _, f := range files {
		if f.err != nil {
			return f.err
		}
		e.Apps = append(e.Apps, f.apps...)
	}
	seen := map[string]string{}
	for _, a := range e.Apps {
		if other, dup := seen[a.Name]; dup {
			return fmt.Errorf("%s: Application %q is also defined in %s", a.File, a.Name, other)
		}
		seen[a.Name] = a.File
	}
	return nil
}

// ReadObjects reads every object of a multi-document YAML file, with errors that
// name the file and the document.
func ReadObjects(path string) ([]map[string]any, error) { return render.ReadFile(path) }

// readApps reads the Argo CD Applications of one catalog file (other kinds are
// deployed by the group app too, but are not apps).
func readApps(path, group, layer string) ([]App, error) {
	objs, err := ReadObjects(path)
	if err != nil {
		return nil, err
	}
	var apps []App
	for _, obj := range objs {
		if obj["kind"] != "Application" {
			continue
		}
		app, err := appFromManifest(obj, path, group, layer)
		if err != nil {
			return nil, err
		}
		apps = append(apps, app)
	}
	return apps, nil
}
