package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/render"
)

// Severity of a lint finding.
const (
	Error   = "error"
	Warning = "warning"
)

// Finding is one lint result: where (file, app, field), what, and how to fix it.
type Finding struct {
	Severity string `json:"severity"`
	App      string `json:"app,omitempty"`
	File     string `json:"file"`
	Field    string `json:"field,omitempty"`
	Check    string `json:"check"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

func (f Finding) String() string {
	what := f.App
	if f.Field != "" {
		if what != "" {
			what += " "
		}
		what += f.Field
	}
	return fmt.Sprintf("%s: %s: %s [%s]: %s\n    fix: %s", f.File, f.Severity, what, f.Check, f.Message, f.Fix)
}

// Checks of profile lint, stable for tools and tests.
const (
	CheckGenerated      = "generated"
	CheckAppSets        = "appsets"
	CheckGroupsFile     = "groups-file"
	CheckSettings       = "settings"
	CheckGitSource      = "git-source"
	CheckChartPinned    = "chart-pinned"
	CheckImagePinned    = "image-pinned"
	CheckSecretProducer = "secret-producer"
)

// Lint checks an environment's tree offline, as Argo CD would deploy it: the
// generated files are fresh; the ApplicationSets agree with the descriptor and
// read its groups file; every Application (of every group, enabled or not) has
// git sources that exist in this repository and build, charts pinned to an
// exact version; every image of the workload folders is pinned by tag or
// digest; every Secret a workload reads has a producer (an ExternalSecret, a
// CloudNativePG cluster, a cert-manager Certificate, a Secret in the tree, or
// seededSecrets).
func (e *Env) Lint() []Finding {
	var out []Finding
	descriptor := e.path(DescriptorFile)
	if stale, err := e.StaleFiles(); err != nil {
		out = append(out, Finding{Severity: Error, File: descriptor, Check: CheckGenerated, Message: err.Error(),
			Fix: e.Host.Cmd("profile") + " resolve --env " + e.Name})
	} else {
		for _, s := range stale {
			out = append(out, Finding{Severity: Error, File: s.Path, Check: CheckGenerated,
				Message: "stale: it does not mean what resolve writes from " + e.ConfigName(),
				Fix:     e.Host.Cmd("profile") + " resolve --env " + e.Name + " (and commit the result)"})
		}
	}
	out = append(out, e.lintAppSets()...)
	e.renderSources(e.Apps)
	var refs []secretRef
	producers := map[string]bool{}
	for _, s := range e.Descriptor.SeededSecrets {
		producers[s.Namespace+"/"+s.Name] = true
	}
	for _, a := range e.Apps {
		m, err := e.Effective(a)
		if err != nil {
			out = append(out, Finding{Severity: Error, App: a.Name, File: a.File, Check: CheckSettings, Message: err.Error(),
				Fix: "use only the settings platform.yaml declares, as ${key}"})
			continue
		}
		out = append(out, lintCharts(a, m)...)
		dest, _, _ := unstructured.NestedString(m, "spec", "destination", "namespace")
		for _, src := range GitSources(m) {
			field := strings.ReplaceAll(strings.TrimPrefix(src.Pointer, "/"), "/", ".") + ".path"
			w := e.workload(src)
			if w.err != nil {
				out = append(out, Finding{Severity: Error, App: a.Name, File: a.File, Field: field, Check: CheckGitSource,
					Message: fmt.Sprintf("%s: %v", src.Path, w.err), Fix: w.fix})
				continue
			}
			out = append(out, w.images(a)...)
			for _, o := range w.objs {
				ns := o.GetNamespace()
				if ns == "" {
					ns = dest
				}
				for _, p := range secretProducers(o.Unstructured) {
					producers[ns+"/"+p] = true
				}
				for _, name := range secretReads(o.Unstructured) {
					refs = append(refs, secretRef{app: a, file: o.File, namespace: ns, name: name, reader: o.GetKind() + "/" + o.GetName()})
				}
			}
		}
	}
	for _, r := range refs {
		if producers[r.namespace+"/"+r.name] {
			continue
		}
		out = append(out, Finding{Severity: Error, App: r.app.Name, File: r.file, Field: r.reader, Check: CheckSecretProducer,
			Message: fmt.Sprintf("reads Secret %s/%s, which nothing in the tree produces", r.namespace, r.name),
			Fix: fmt.Sprintf("add an ExternalSecret (secretStoreRef: ClusterSecretStore secret-store) whose target is %s in namespace %s, "+
				"or list it under seededSecrets: in %s with the reason it is made by hand", r.name, r.namespace, descriptor)})
	}
	out = append(out, e.lintSecretContract()...)
	return dedupe(out)
}

func (e *Env) lintAppSets() []Finding {
	sets, err := e.AppSetsWithFiles()
	if err != nil {
		return []Finding{{Severity: Error, File: e.AppSetsDir(), Check: CheckAppSets, Message: err.Error(),
			Fix: "one ApplicationSet per layer of " + DescriptorFile + ", labelled " + LayerLabel + "=<layer> or selecting layer: <layer>"}}
	}
	want := e.RepoPath(e.Descriptor.GroupsFile)
	var out []Finding
	if rendered, err := e.ProjectRendered(); err == nil && !rendered {
		out = append(out, Finding{Severity: Warning, File: e.AppSetsDir(), Field: "spec.template.spec.project", Check: CheckAppSets,
			Message: fmt.Sprintf("the ApplicationSets name AppProject %s, which is not rendered with them: it must be in the cluster before profile apply, "+
				"or Argo CD creates none of their apps (apply refuses then)", e.Descriptor.Project),
			Fix: fmt.Sprintf("render it with them: projects: <the folder that holds it> in %s (%s init finds it), or create it first", e.path(DescriptorFile), e.Host.Cmd("profile"))})
	}
	for _, l := range e.LayerNames() {
		ls := sets.Layers[l]
		v, _, _ := unstructured.NestedFieldNoCopy(ls.Object.Object, "spec", "generators")
		gens, _ := v.([]any)
		var read []string
		for _, g := range gens {
			v, _, _ := unstructured.NestedFieldNoCopy(g.(map[string]any), "git", "files")
			files, _ := v.([]any)
			for _, f := range files {
				if p, ok := f.(map[string]any)["path"].(string); ok {
					read = append(read, p)
				}
			}
		}
		if !slices.Contains(read, want) {
			file := ls.File
			if file == "" {
				file = e.AppSetsDir()
			}
			out = append(out, Finding{Severity: Error, App: ls.Name, File: file, Field: "spec.generators[].git.files[].path", Check: CheckGroupsFile,
				Message: fmt.Sprintf("reads %s, not the groups file %s names (%s)", strings.Join(read, ", "), DescriptorFile, want),
				Fix:     fmt.Sprintf("make its git files generator read %s, or set groupsFile: in %s", want, e.path(DescriptorFile))})
		}
	}
	return out
}

// exactVersion is a version a chart can be pinned to: no range, no wildcard.
var exactVersion = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)

// lintCharts checks that every chart source (a chart repository or an OCI
// artifact) names an exact version.
func lintCharts(a App, m map[string]any) []Finding {
	var out []Finding
	check := func(field string, src map[string]any) {
		repoURL, _ := src["repoURL"].(string)
		chart, _ := src["chart"].(string)
		if chart == "" && !strings.HasPrefix(repoURL, "oci://") {
			return
		}
		rev, _ := src["targetRevision"].(string)
		if exactVersion.MatchString(rev) || strings.Contains(rev, "sha256:") {
			return
		}
		what := chart
		if what == "" {
			what = repoURL
		}
		out = append(out, Finding{Severity: Error, App: a.Name, File: a.File, Field: field + ".targetRevision", Check: CheckChartPinned,
			Message: fmt.Sprintf("chart %s is not pinned (targetRevision %q)", what, rev),
			Fix:     "set targetRevision to the exact chart version (1.2.3), not a range, a wildcard or a branch"})
	}
	spec, _ := m["spec"].(map[string]any)
	if src, ok := spec["source"].(map[string]any); ok {
		check("spec.source", src)
	}
	sources, _ := spec["sources"].([]any)
	for i, s := range sources {
		if src, ok := s.(map[string]any); ok {
			check(fmt.Sprintf("spec.sources[%d]", i), src)
		}
	}
	return out
}

// workload is one git source folder, rendered once.
type workload struct {
	dir  string
	objs []render.Object
	err  error
	fix  string
}

// workloadKey is the cache key of a source: its folder and kustomize options.
func (e *Env) workloadKey(src GitSource) (dir, key string) {
	dir = filepath.Join(filepath.Dir(e.ClustersDir), filepath.FromSlash(src.Path))
	key = dir
	if len(src.Kustomize) > 0 {
		options, _ := json.Marshal(src.Kustomize)
		key += "\x00" + string(options)
	}
	return dir, key
}

// workload renders a git source folder (a path in the repository) as the
// source renders it (with its kustomize options), once per folder and options.
func (e *Env) workload(src GitSource) *workload {
	dir, key := e.workloadKey(src)
	if w, ok := e.workloads[key]; ok {
		return w
	}
	if e.workloads == nil {
		e.workloads = map[string]*workload{}
	}
	w := renderWorkload(dir, src.Kustomize)
	e.workloads[key] = w
	return w
}

func renderWorkload(dir string, options map[string]any) *workload {
	w := &workload{dir: dir}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		w.err, w.fix = errors.New("no such folder in the repository"), "create the folder, or point path: at the folder that holds the manifests"
		return w
	}
	if w.objs, w.err = render.DirAsSource(dir, options); w.err != nil {
		w.fix = "make `kubectl kustomize " + dir + "` succeed offline (no remote resources)"
	} else if len(w.objs) == 0 {
		w.err, w.fix = errors.New("renders no objects"), "add the manifests (or a kustomization.yaml listing them)"
	}
	return w
}

// renderSources renders the git sources of the apps that are not rendered
// yet, on every core: each folder is independent, and rendering them is most
// of what lint and secrets do.
func (e *Env) renderSources(apps []App) {
	type job struct {
		dir, key string
		options  map[string]any
		w        *workload
	}
	var jobs []*job
	seen := map[string]bool{}
	for _, a := range apps {
		m, err := e.Effective(a)
		if err != nil {
			continue // lint reports it
		}
		for _, src := range GitSources(m) {
			dir, key := e.workloadKey(src)
			if _, done := e.workloads[key]; done || seen[key] {
				continue
			}
			seen[key] = true
			jobs = append(jobs, &job{dir: dir, key: key, options: src.Kustomize})
		}
	}
	work := make(chan *job)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for j := range work {
				j.w = renderWorkload(j.dir, j.options)
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	if e.workloads == nil {
		e.workloads = map[string]*workload{}
	}
	for _, j := range jobs {
		e.workloads[j.key] = j.w
	}
}

// DeployedObject is an object an Application deploys from a folder of this
// repository, with its namespace as Argo CD applies it.
type DeployedObject struct {
	*unstructured.Unstructured
	File      string
	Namespace string
}

// Deployed lists what an Application deploys from the folders of this
// repository (its charts are opaque here), rendered as Argo CD would, with the
// config applied. Folders that are missing or do not build are profile lint's
// findings and are skipped here.
func (e *Env) Deployed(a App) []DeployedObject {
	m, err := e.Effective(a)
	if err != nil {
		return nil
	}
	dest, _, _ := unstructured.NestedString(m, "spec", "destination", "namespace")
	var out []DeployedObject
	for _, src := range GitSources(m) {
		if src.RepoURL != e.Config.RepoURL {
			continue
		}
		for _, o := range e.workload(src).objs {
			ns := o.GetNamespace()
			if ns == "" {
				ns = dest
			}
			out = append(out, DeployedObject{Unstructured: o.Unstructured, File: o.File, Namespace: ns})
		}
	}
	return out
}

// Containers are the init and app containers of an object that runs pods
// (none for other kinds).
func Containers(o *unstructured.Unstructured) []map[string]any { return containers(o) }

// images checks that every container image of the folder's pod templates is
// pinned by a tag other than latest, or by a digest.
func (w *workload) images(a App) []Finding {
	var out []Finding
	for _, o := range w.objs {
		for _, c := range containers(o.Unstructured) {
			image, _ := c["image"].(string)
			if imagePinned(image) {
				continue
			}
			name, _ := c["name"].(string)
			out = append(out, Finding{Severity: Error, App: a.Name, File: o.File, Field: o.GetKind() + "/" + o.GetName() + " container " + name,
				Check: CheckImagePinned, Message: fmt.Sprintf("image %q is not pinned", image),
				Fix: "name an exact tag (repo:1.2.3, not latest) or a digest (repo@sha256:...)"})
		}
	}
	return out
}

func imagePinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return false
	}
	tag := image[colon+1:]
	return tag != "" && tag != "latest"
}

// podSpec is an object's pod spec, for the kinds that run pods.
func podSpec(o *unstructured.Unstructured) map[string]any {
	var path []string
	switch o.GetKind() {
	case "Pod":
		path = []string{"spec"}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		path = []string{"spec", "template", "spec"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		return nil
	}
	spec, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	m, _ := spec.(map[string]any)
	return m
}

func containers(o *unstructured.Unstructured) []map[string]any {
	spec := podSpec(o)
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := spec[key].([]any)
		for _, c := range list {
			if m, ok := c.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// secretReads lists the Secrets an object's pods need to start (optional
// references excepted).
func secretReads(o *unstructured.Unstructured) []string {
	spec := podSpec(o)
	if spec == nil {
		return nil
	}
	var out []string
	add := func(name any, optional any) {
		if n, ok := name.(string); ok && n != "" && optional != true && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, c := range containers(o) {
		env, _ := c["env"].([]any)
		for _, e := range env {
			v, _, _ := unstructured.NestedFieldNoCopy(e.(map[string]any), "valueFrom", "secretKeyRef")
			if ref, ok := v.(map[string]any); ok {
				add(ref["name"], ref["optional"])
			}
		}
		envFrom, _ := c["envFrom"].([]any)
		for _, e := range envFrom {
			if ref, ok := e.(map[string]any)["secretRef"].(map[string]any); ok {
				add(ref["name"], ref["optional"])
			}
		}
	}
	volumes, _ := spec["volumes"].([]any)
	for _, v := range volumes {
		vol, _ := v.(map[string]any)
		if s, ok := vol["secret"].(map[string]any); ok {
			add(s["secretName"], s["optional"])
		}
		v, _, _ := unstructured.NestedFieldNoCopy(vol, "projected", "sources")
		sources, _ := v.([]any)
		for _, p := range sources {
			if s, ok := p.(map[string]any)["secret"].(map[string]any); ok {
				add(s["name"], s["optional"])
			}
		}
	}
	pulls, _ := spec["imagePullSecrets"].([]any)
	for _, p := range pulls {
		add(p.(map[string]any)["name"], nil)
	}
	sort.Strings(out)
	return out
}

// secretProducers lists the Secrets an object makes (in its namespace).
func secretProducers(o *unstructured.Unstructured) []string {
	switch o.GetAPIVersion() + "/" + o.GetKind() {
	case "v1/Secret":
		return []string{o.GetName()}
	case "external-secrets.io/v1/ExternalSecret", "external-secrets.io/v1beta1/ExternalSecret":
		if name, _, _ := unstructured.NestedString(o.Object, "spec", "target", "name"); name != "" {
			return []string{name}
		}
		return []string{o.GetName()}
	case "postgresql.cnpg.io/v1/Cluster":
		return []string{o.GetName() + "-app", o.GetName() + "-superuser", o.GetName() + "-ca", o.GetName() + "-server", o.GetName() + "-replication"}
	case "cert-manager.io/v1/Certificate":
		if name, _, _ := unstructured.NestedString(o.Object, "spec", "secretName"); name != "" {
			return []string{name}
		}
	}
	return nil
}

type secretRef struct {
	app             App
	file            string
	namespace, name string
	reader          string
}

// dedupe drops repeated findings (a folder shared by several apps is reported
// once per app, a missing Secret once per reader).
func dedupe(in []Finding) []Finding {
	seen := map[Finding]bool{}
	var out []Finding
	for _, f := range in {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
