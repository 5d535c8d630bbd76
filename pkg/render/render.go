package render

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
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

// DirAsSource renders a folder as an Argo CD Application's source renders it:
// Dir, with the source's kustomize options (spec.source.kustomize: patches,
// images, namePrefix, nameSuffix, namespace, commonLabels, commonAnnotations,
// components, replicas) added to the folder's kustomization, as Argo CD adds
// them before it builds. Options on a folder without a kustomization are
// ignored, as Argo CD ignores them.
func DirAsSource(dir string, options map[string]any) ([]Object, error) {
	if len(options) == 0 || KustomizationFile(dir) == "" {
		return renderDir(dir, true)
	}
	return kustomizeWith(dir, true, options)
}

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
func kustomize(dir string, origins bool) ([]Object, error) { return kustomizeWith(dir, origins, nil) }

func kustomizeWith(dir string, origins bool, options map[string]any) ([]Object, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fs := &originFS{FileSystem: filesys.MakeFsOnDisk(), roots: []string{abs}, off: !origins, options: options}
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
	off      bool           // origins not asked for: read files as they are
	options  map[string]any // an Application source's kustomize options, added to the root
}

func (f *originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || (f.off && f.options == nil) || !slices.Contains(f.roots, filepath.Dir(filepath.Clean(path))) || !slices.Contains(konfig.RecognizedKustomizationFileNames(), filepath.Base(path)) {
		return data, err
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil || k == nil {
		return data, nil // kustomize reports the error itself
	}
	if f.options != nil {
		addSourceOptions(k, f.options)
	}
	if meta, _ := k["buildMetadata"].([]any); !f.off && !slices.Contains(meta, any("originAnnotations")) {
		k["buildMetadata"] = append(meta, "originAnnotations")
		f.injected = true
	}
	out, err := yaml.Marshal(k)
	if err != nil {
		f.injected = false
		return data, nil
	}
	return out, nil
}

// kustomizeImages turns Argo CD's image overrides ("[old=]repo[:tag][@digest]")
// into kustomization images.
func kustomizeImages(in []any) []any {
	var out []any
	for _, v := range in {
		s, ok := v.(string)
		if !ok {
			out = append(out, v)
			continue
		}
		old, image, renamed := strings.Cut(s, "=")
		if !renamed {
			image = s
		}
		img := map[string]any{}
		repo, digest, hasDigest := strings.Cut(image, "@")
		if hasDigest {
			img["digest"] = digest
		}
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo, img["newTag"] = repo[:i], repo[i+1:]
		}
		if renamed {
			img["name"], img["newName"] = old, repo
		} else {
			img["name"] = repo
		}
		out = append(out, img)
	}
	return out
}

// addSourceOptions adds an Argo CD source's kustomize options to a
// kustomization: lists are appended, maps merged (the source's value wins), and
// names and the namespace set, which is what Argo CD's `kustomize edit` calls do.
func addSourceOptions(k, options map[string]any) {
	for _, key := range []string{"patches", "images", "components", "replicas"} {
		extra, ok := options[key].([]any)
		if !ok {
			continue
		}
		if key == "images" {
			extra = kustomizeImages(extra)
		}
		list, _ := k[key].([]any)
		k[key] = append(slices.Clone(list), extra...)
	}
	for _, key := range []string{"commonLabels", "commonAnnotations"} {
		if extra, ok := options[key].(map[string]any); ok {
			merged := map[string]any{}
			if m, ok := k[key].(map[string]any); ok {
				maps.Copy(merged, m)
			}
			maps.Copy(merged, extra)
			k[key] = merged
		}
	}
	for _, key := range []string{"namePrefix", "nameSuffix", "namespace"} {
		if v, ok := options[key].(string); ok && v != "" {
			k[key] = v
		}
	}
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
