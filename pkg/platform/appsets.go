package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

// AppSets is what the environment's appsets folder renders: its AppProjects and
// one ApplicationSet per layer, with the names the tree gives them and the
// Applications they generate. Nothing here is named by the code.
type AppSets struct {
	Projects []render.Object
	// Layers holds each layer's ApplicationSet, by layer name.
	Layers map[string]*LayerAppSet
	// noFiles: rendered without origins, the File of each object is "" (see readAppSets).
	noFiles bool
}

// LayerAppSet is one layer's ApplicationSet as rendered.
type LayerAppSet struct {
	Layer string
	// Name is the ApplicationSet's metadata.name.
	Name string
	// File is the manifest it was read from ("" when unknown, or not asked
	// for: see appSetsWithFiles).
	File   string
	Object *unstructured.Unstructured
	// GroupApps maps each group of the layer to the name of the Application the
	// ApplicationSet generates for it: spec.template.metadata.name evaluated with
	// the group's record of the groups file.
	GroupApps map[string]string
}

// AppSets renders the appsets folder and reads the ApplicationSets' names, once
// per Env (every later call returns the same result). It reads files only.
func (e *Env) AppSets() (*AppSets, error) {
	if e.appsets == nil && e.appsetsErr == nil {
		e.appsets, e.appsetsErr = e.readAppSets()
	}
	return e.appsets, e.appsetsErr
}

// ProjectRendered says whether the AppProject the ApplicationSets name
// (Descriptor.Project) is rendered with them; when it is not, it must be in
// the cluster before they are applied, or Argo CD generates nothing.
func (e *Env) ProjectRendered() (bool, error) {
	sets, err := e.AppSets()
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(sets.Projects, func(o render.Object) bool { return o.GetName() == e.Descriptor.Project }), nil
}

// IsAppSetName says whether name is one of the environment's ApplicationSets.
func (e *Env) IsAppSetName(name string) bool {
	for _, l := range e.LayerNames() {
		if n, err := e.AppSetName(l); err == nil && n == name {
			return true
		}
	}
	return false
}

// AppSetName is the name of a layer's ApplicationSet.
func (e *Env) AppSetName(layer string) (string, error) {
	sets, err := e.AppSets()
	if err != nil {
		return "", err
	}
	ls, ok := sets.Layers[layer]
	if !ok {
		return "", fmt.Errorf("unknown layer %q in environment %s (layers: %s)", layer, e.Name, strings.Join(e.LayerNames(), ", "))
	}
	return ls.Name, nil
}

// readAppSets renders the appsets folder without the files its objects come
// from (faster); when something is wrong, or the files are wanted (lint), it
// renders again with them, so every message names the file.
func (e *Env) readAppSets() (*AppSets, error) {
	sets, err := e.renderAppSets(false)
	if err != nil {
		return e.renderAppSets(true)
	}
	return sets, nil
}

// AppSetsWithFiles is AppSets with the file of each ApplicationSet (rendered
// again with origins when AppSets was not).
func (e *Env) AppSetsWithFiles() (*AppSets, error) {
	sets, err := e.AppSets()
	if err != nil || !sets.noFiles {
		return sets, err
	}
	return e.renderAppSets(true)
}

func (e *Env) renderAppSets(origins bool) (*AppSets, error) {
	dir := e.AppSetsDir()
	_, statErr := os.Stat(dir)
	missing := errors.Is(statErr, fs.ErrNotExist)
	switch {
	case e.AppSetsGenerated() && (missing || render.KustomizationFile(dir) == ""):
		return nil, fmt.Errorf("%s: the appsets overlay is not generated yet: run %s resolve --env %s", dir, e.Host.Cmd("profile"), e.Name)
	case missing:
		return nil, fmt.Errorf("%s: appsets: folder %s does not exist", e.path(DescriptorFile), dir)
	}
	renderDir := render.DirNoOrigins
	if origins {
		renderDir = render.Dir
	}
	objs, err := renderDir(dir)
	if err != nil {
		return nil, err
	}
	where := func(o render.Object) string {
		if o.File != "" {
			return o.File
		}
		return dir
	}
	out := &AppSets{Layers: map[string]*LayerAppSet{}, noFiles: !origins}
	if e.Descriptor.Projects != "" {
		projects, err := renderDir(e.path(e.Descriptor.Projects))
		if err != nil {
			return nil, fmt.Errorf("%s: projects: %v", e.path(DescriptorFile), err)
		}
		for _, o := range projects {
			if gk := o.GroupVersionKind().GroupKind(); gk.Group != ArgoGroup || gk.Kind != KindAppProject {
				return nil, fmt.Errorf("%s: renders %s %s: the projects folder holds AppProjects only", where(o), o.GetKind(), o.GetName())
			}
			out.Projects = append(out.Projects, o)
		}
	}
	for _, o := range objs {
		gk := o.GroupVersionKind().GroupKind()
		switch {
		case gk.Group == ArgoGroup && gk.Kind == KindAppProject:
			out.Projects = append(out.Projects, o)
		case gk.Group == ArgoGroup && gk.Kind == KindApplicationSet:
			layer, err := e.appSetLayer(o.Unstructured)
			if err != nil {
				return nil, fmt.Errorf("%s: ApplicationSet %s: %v", where(o), o.GetName(), err)
			}
			if other := out.Layers[layer]; other != nil {
				return nil, fmt.Errorf("%s: ApplicationSets %s and %s are both of layer %s: a layer has one ApplicationSet", dir, other.Name, o.GetName(), layer)
			}
			out.Layers[layer] = &LayerAppSet{Layer: layer, Name: o.GetName(), File: o.File, Object: o.Unstructured}
		default:
			return nil, fmt.Errorf("%s: renders %s %s: only AppProjects and ApplicationSets belong there", where(o), o.GetKind(), o.GetName())
		}
	}
	for _, l := range e.Descriptor.Layers {
		ls := out.Layers[l.Name]
		if ls == nil {
			return nil, fmt.Errorf("%s: no ApplicationSet of layer %s (one is labelled %s=%s, or its generator selects layer: %s)",
				dir, l.Name, LayerLabel, l.Name, l.Name)
		}
		where := dir
		if ls.File != "" {
			where = ls.File
		}
		if ls.GroupApps, err = e.groupAppNames(ls, l); err != nil {
			return nil, fmt.Errorf("%s: ApplicationSet %s: %v", where, ls.Name, err)
		}
	}
	if err := e.checkAppNames(out); err != nil {
		return nil, err
	}
	return out, nil
}

// appSetLayer is the layer an ApplicationSet serves: its profile.aidev.io/layer
// label, else the layer its generators select from the groups file.
func (e *Env) appSetLayer(o *unstructured.Unstructured) (string, error) {
	layers := e.LayerNames()
	if l, ok := o.GetLabels()[LayerLabel]; ok {
		if !slices.Contains(layers, l) {
			return "", fmt.Errorf("label %s=%q is not a layer of %s (layers: %s)", LayerLabel, l, e.Name, strings.Join(layers, ", "))
		}
		return l, nil
	}
	selected := selectedLayers(o)
	switch {
	case len(selected) == 1 && slices.Contains(layers, selected[0]):
		return selected[0], nil
	case len(selected) == 1:
		return "", fmt.Errorf("its generator selects layer %q, which is not a layer of %s (layers: %s)", selected[0], e.Name, strings.Join(layers, ", "))
	case len(selected) > 1:
		return "", fmt.Errorf("its generators select several layers (%s): label it %s=<layer>", strings.Join(selected, ", "), LayerLabel)
	}
	return "", fmt.Errorf("cannot tell its layer: label it %s=<layer>, or select one layer's groups in its generator (selector: {matchLabels: {layer: <layer>}})", LayerLabel)
}

// selectedLayers are the values of `layer` the generators' selectors require.
func selectedLayers(o *unstructured.Unstructured) []string {
	gens, _, _ := unstructured.NestedSlice(o.Object, "spec", "generators")
	var out []string
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, g := range gens {
		gen, _ := g.(map[string]any)
		sel, _ := gen["selector"].(map[string]any)
		if labels, ok := sel["matchLabels"].(map[string]any); ok {
			if v, ok := labels["layer"].(string); ok {
				add(v)
			}
		}
		exprs, _ := sel["matchExpressions"].([]any)
		for _, x := range exprs {
			expr, _ := x.(map[string]any)
			values, _ := expr["values"].([]any)
			if expr["key"] == "layer" && expr["operator"] == "In" && len(values) == 1 {
				v, _ := values[0].(string)
				add(v)
			}
		}
	}
	return out
}

// groupAppNames evaluates an ApplicationSet's template name for each group of
// its layer, as Argo CD would with the group's record of the groups file.
func (e *Env) groupAppNames(ls *LayerAppSet, l Layer) (map[string]string, error) {
	tmpl, found, err := unstructured.NestedString(ls.Object.Object, "spec", "template", "metadata", "name")
	if err != nil || !found || tmpl == "" {
		return nil, fmt.Errorf("spec.template.metadata.name is not set: the names of the Applications it generates are unknown")
	}
	goTemplate, _, _ := unstructured.NestedBool(ls.Object.Object, "spec", "goTemplate")
	records := map[string]ResolvedGroup{}
	for _, r := range e.Resolve() {
		records[r.Name] = r
	}
	out := map[string]string{}
	byName := map[string]string{}
	for _, g := range l.Groups {
		rec := records[g.Name]
		var name string
		if goTemplate {
			name, err = evalGoTemplate(tmpl, e.goParams(rec))
		} else {
			name, err = evalFastTemplate(tmpl, e.flatParams(rec))
		}
		if err != nil {
			return nil, fmt.Errorf("spec.template.metadata.name %q for group %s: %v", tmpl, g.Name, err)
		}
		if name == "" {
			return nil, fmt.Errorf("spec.template.metadata.name %q gives group %s an empty name", tmpl, g.Name)
		}
		if other, dup := byName[name]; dup {
			return nil, fmt.Errorf("spec.template.metadata.name %q gives groups %s and %s the same name %q", tmpl, other, g.Name, name)
		}
		byName[name] = g.Name
		out[g.Name] = name
	}
	return out, nil
}

// checkAppNames: a group app may not share its name with another Application.
func (e *Env) checkAppNames(sets *AppSets) error {
	owner := map[string]string{}
	for _, a := range e.Apps {
		owner[a.Name] = "the Application of " + a.File
	}
	for _, l := range e.Descriptor.Layers {
		ls := sets.Layers[l.Name]
		for _, g := range l.Groups {
			name := ls.GroupApps[g.Name]
			if other, dup := owner[name]; dup {
				where := ls.File
				if where == "" {
					where = e.AppSetsDir()
				}
				return fmt.Errorf("%s: ApplicationSet %s names the Application of group %s %q, which is also the name of %s", where, ls.Name, g.Name, name, other)
			}
			owner[name] = fmt.Sprintf("group %s's Application (ApplicationSet %s)", g.Name, ls.Name)
		}
	}
	return nil
}

// goParams is a group's record as a git-files generator hands it to a Go
// template: the record's keys, and path (the groups file's folder in the repo).
func (e *Env) goParams(r ResolvedGroup) map[string]any {
	p := r.params()
	file := e.RepoPath(e.Descriptor.GroupsFile)
	dir := path.Dir(file)
	var segments []any
	for _, s := range strings.Split(dir, "/") {
		segments = append(segments, s)
	}
	p["path"] = map[string]any{
		"path": dir, "basename": path.Base(dir), "filename": path.Base(file),
		"basenameNormalized": normalize(path.Base(dir)), "filenameNormalized": normalize(path.Base(file)),
		"segments": segments,
	}
	return p
}

// flatParams is a group's record as a git-files generator hands it to Argo CD's
// default (fasttemplate) templates: flat keys, path.* and path[N].
func (e *Env) flatParams(r ResolvedGroup) map[string]string {
	out := map[string]string{}
	for k, v := range r.params() {
		out[k] = fmt.Sprint(v)
	}
	file := e.RepoPath(e.Descriptor.GroupsFile)
	dir := path.Dir(file)
	out["path"] = dir
	out["path.basename"] = path.Base(dir)
	out["path.filename"] = path.Base(file)
	out["path.basenameNormalized"] = normalize(path.Base(dir))
	out["path.filenameNormalized"] = normalize(path.Base(file))
	for i, s := range strings.Split(dir, "/") {
		out["path["+strconv.Itoa(i)+"]"] = s
	}
	return out
}

// params is the record as the groups file holds it.
func (r ResolvedGroup) params() map[string]any {
	return map[string]any{"name": r.Name, "layer": r.Layer, "enabled": r.Enabled, "catalogPath": r.Path}
}

// templateFuncs are the functions of Argo CD's Go templates (sprig's) that
// names use; a template calling another is reported as not evaluable.
var templateFuncs = template.FuncMap{
	"lower":      strings.ToLower,
	"upper":      strings.ToUpper,
	"trim":       strings.TrimSpace,
	"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
	"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
	"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"trunc": func(n int, s string) string {
		switch {
		case n >= 0 && len(s) > n:
			return s[:n]
		case n < 0 && len(s) > -n:
			return s[len(s)+n:]
		}
		return s
	},
	"default": func(def, v any) any {
		if v == nil || v == "" {
			return def
		}
		return v
	},
	"normalize": normalize,
}

// evalGoTemplate evaluates a goTemplate: true template, strictly: a missing key
// is an error (goTemplateOptions: ["missingkey=error"]), not "<no value>".
func evalGoTemplate(tmpl string, params map[string]any) (string, error) {
	t, err := template.New("name").Option("missingkey=error").Funcs(templateFuncs).Parse(tmpl)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	if err := t.Execute(&sb, params); err != nil {
		return "", fmt.Errorf("%v (the groups file's records have %s)", err, strings.Join(paramNames(params), ", "))
	}
	return sb.String(), nil
}

// evalFastTemplate evaluates Argo CD's default templates: {{key}} or
// {{ key }} replaced by the parameter; an unknown key is an error.
func evalFastTemplate(tmpl string, params map[string]string) (string, error) {
	var sb strings.Builder
	for {
		i := strings.Index(tmpl, "{{")
		if i < 0 {
			sb.WriteString(tmpl)
			return sb.String(), nil
		}
		j := strings.Index(tmpl[i+2:], "}}")
		if j < 0 {
			return "", fmt.Errorf("%q opens {{ and never closes it", tmpl)
		}
		tag := strings.TrimSpace(tmpl[i+2 : i+2+j])
		v, ok := params[tag]
		if !ok {
			hint := ""
			if strings.HasPrefix(tag, ".") {
				hint = " (a Go template? set spec.goTemplate: true)"
			}
			return "", fmt.Errorf("no parameter %q%s (the groups file's records have %s)", tag, hint, strings.Join(paramNames(params), ", "))
		}
		sb.WriteString(tmpl[:i])
		sb.WriteString(v)
		tmpl = tmpl[i+2+j+2:]
	}
}

// paramNames lists a template's parameters as Argo CD's errors do: sorted, the
// path.* family as one "path" at the end.
func paramNames[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		if !strings.HasPrefix(k, "path") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return append(out, "path")
}

// keys lists a map's keys, sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var notDNS = regexp.MustCompile(`[^a-z0-9.-]+`)

// normalize makes a name fit Kubernetes, as Argo CD's normalize does.
func normalize(s string) string {
	return strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-.")
}
