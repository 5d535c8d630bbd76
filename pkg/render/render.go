package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Object is one rendered object and the file it was read from.
type Object struct {
	*unstructured.Unstructured
	// File is the manifest file that holds the object ("" when unknown, for
	// example a resource kustomize fetched from a remote repository).
	File string
}

// Kustomize builds the kustomization in dir, like `kubectl kustomize dir`, and
// returns its objects in kustomize's output order.
func Kustomize(dir string) ([]*unstructured.Unstructured, error) {
	objs, err := kustomize(dir, true)
	if err != nil {
		return nil, err
	}
	return Unwrap(objs), nil
}

// Dir renders a folder of manifests: with kustomize when it holds a
// kustomization (kustomization.yaml, kustomization.yml or Kustomization), else
// every *.yaml and *.yml file in it (not its sub-folders), in name order, as
// written.
func Dir(dir string) ([]Object, error) { return renderDir(dir, true) }

// DirNoOrigins is Dir without the files kustomize's objects come from (their
// File is ""): asking kustomize for them costs a sixth of a build, and most
// renders need them only to report an error.
func DirNoOrigins(dir string) ([]Object, error) { return renderDir(dir, false) }

func renderDir(dir string, origins bool) ([]Object, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	if KustomizationFile(dir) != "" {
		return kustomize(dir, origins)
	}
	return plain(dir)
}

// Unwrap drops the file names.
func Unwrap(objs []Object) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.Unstructured
	}
	return out
}

// KustomizationFile is the kustomization file in dir, or "" when it has none.
func KustomizationFile(dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// plain reads every YAML file of dir in name order.
func plain(dir string) ([]Object, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, e := range entries { // sorted by name
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		docs, err := ReadFile(path)
		if err != nil {
			return nil, err
		}
		for i, d := range docs {
			u := &unstructured.Unstructured{Object: d}
			if u.GetAPIVersion() == "" || u.GetKind() == "" {
				return nil, fmt.Errorf("%s: object %d has no apiVersion or kind", path, i+1)
			}
			out = append(out, Object{Unstructured: u, File: path})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no kustomization and no YAML manifests", dir)
	}
	return out, nil
}

// kustomize builds dir and says which file each object came from: kustomize
// records it (config.kubernetes.io/origin) when asked to by the kustomization's
// buildMetadata, which is added here on the fly and its annotation removed
// again, unless the kustomization asks for it itself.
func kustomize(dir string, origins bool) ([]Object, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fs := &originFS{FileSystem: filesys.MakeFsOnDisk(), roots: []string{abs}, off: !origins}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		fs.roots = append(fs.roots, real)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(fs, abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	out := make([]Object, 0, resMap.Size())
	for _, r := range resMap.Resources() {
		file := originFile(r, dir)
		if fs.injected {
			if err := r.SetOrigin(nil); err != nil {
				return nil, fmt.Errorf("kustomize %s: %s: %w", dir, r.CurId(), err)
			}
		}
		m, err := r.Map()
		if err != nil {
			return nil, fmt.Errorf("kustomize %s: %s: %w", dir, r.CurId(), err)
		}
		u := &unstructured.Unstructured{Object: m}
		if fs.injected && len(u.GetAnnotations()) == 0 {
			unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
		}
		out = append(out, Object{Unstructured: u, File: file})
	}
	return out, nil
}

func originFile(r *resource.Resource, dir string) string {
	o, err := r.GetOrigin()
	if err != nil || o == nil || o.Path == "" {
		return ""
	}
	if o.Repo != "" {
		return o.Repo + "//" + o.Path
	}
	return filepath.Join(dir, filepath.FromSlash(o.Path))
}

// originFS reads the root kustomization with buildMetadata: [originAnnotations]
// added, so kustomize says where each resource came from.
type originFS struct {
	filesys.FileSystem
	roots    []string // the folder built, as given and with symlinks resolved
	injected bool
	off      bool // origins not asked for: read files as they are
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || f.off || !slices.Contains(f.roots, filepath.Dir(filepath.Clean(path))) || !slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)) {
		return data, err
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil || k == nil {
		return data, nil // kustomize reports the error itself
	}
	meta, _ := k["buildMetadata"].([]any)
	if slices.Contains(meta, any("originAnnotations")) {
		return data, nil
	}
	k["buildMetadata"] = append(meta, "originAnnotations")
	out, err := yaml.Marshal(k)
	if err != nil {
		return data, nil
	}
	f.injected = true
	return out, nil
}

// ReadFile reads every object of a multi-document YAML file, with errors that
// name the file and the document. Empty documents are skipped.
func ReadFile(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := dec.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", path, doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %s", path, doc, CleanYAMLError(err))
		}
		if obj != nil {
			out = append(out, obj)
		}
	}
}

// CleanYAMLError drops the converter's prefixes so the message reads
// "yaml: line 4: ..." or `unknown field "x"`.
func CleanYAMLError(err error) string {
	msg := err.Error()
	for _, p := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: while decoding JSON: ", "error unmarshaling JSON: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}
