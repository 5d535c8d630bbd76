package smoke

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// External Secrets' kinds (external-secrets.io/v1), read without discovery.
var (
	ExternalSecrets     = kube.Kind{GVR: esGVR("externalsecrets"), Kind: "ExternalSecret", Namespaced: true}
	ClusterSecretStores = kube.Kind{GVR: esGVR("clustersecretstores"), Kind: "ClusterSecretStore"}
	SecretStores        = kube.Kind{GVR: esGVR("secretstores"), Kind: "SecretStore", Namespaced: true}
)

const esGroup = "external-secrets.io"

func esGVR(resource string) (gvr schema.GroupVersionResource) {
	return schema.GroupVersionResource{Group: esGroup, Version: "v1", Resource: resource}
}

// managed is one object an Application manages, as its status.resources lists it.
type managed struct {
	app string
	ref rest.ResourceRef
}

func (m managed) String() string {
	if m.ref.Namespace == "" {
		return m.ref.Name
	}
	return m.ref.Namespace + "/" + m.ref.Name
}

// profileAppNames are the Applications the profile brings up (every layer's
// without --profile).
func (d *Doctor) profileAppNames() (map[string]bool, error) {
	p := platform.Profile{Layers: d.Env.LayerNames()}
	if d.Profile != nil {
		p = *d.Profile
	}
	expected, err := d.Env.ExpectedApps(p)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range expected {
		out[a.Name] = true
	}
	return out, nil
}

// managedBy lists what the Applications (only of the profile when inProfile)
// manage of one group and kind, from their status.resources: what Argo CD
// deployed, in both modes.
func (d *Doctor) managedBy(ctx context.Context, group, kind string, inProfile bool) ([]managed, error) {
	apps, err := d.applications(ctx)
	if err != nil {
		return nil, err
	}
	names, err := d.profileAppNames()
	if err != nil {
		return nil, err
	}
	var out []managed
	for i := range apps.Items {
		app := &apps.Items[i]
		if inProfile && !names[app.GetName()] {
			continue
		}
		resources, _, _ := unstructured.NestedSlice(app.Object, "status", "resources")
		for _, r := range resources {
			m, _ := r.(map[string]any)
			if m == nil || str(m, "group") != group || str(m, "kind") != kind {
				continue
			}
			out = append(out, managed{app: app.GetName(), ref: rest.ResourceRef{Group: group, Version: str(m, "version"), Kind: kind,
				Namespace: str(m, "namespace"), Name: str(m, "name")}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func str(m map[string]any, key string) string { s, _ := m[key].(string); return s }

// live reads an object's live state: through Argo CD's API in server mode (the
// app's resource tree), else the Kubernetes API.
func (d *Doctor) live(ctx context.Context, m managed, k kube.Kind) (*unstructured.Unstructured, error) {
	if d.Argo != nil {
		if m.ref.Version == "" {
			m.ref.Version = k.GVR.Version
		}
		return d.Argo.Resource(ctx, m.app, d.Env.Descriptor.Project, m.ref)
	}
	return d.workloads().Resource(k, m.ref.Namespace).Get(ctx, m.ref.Name, metav1.GetOptions{})
}

// readiness is an object's Ready condition.
type readiness struct {
	found                   bool
	status, reason, message string
}

func readyOf(obj *unstructured.Unstructured) readiness {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m != nil && str(m, "type") == "Ready" {
			return readiness{true, str(m, "status"), str(m, "reason"), str(m, "message")}
		}
	}
	return readiness{}
}

func (r readiness) String() string {
	if !r.found {
		return "no Ready condition yet (is the External Secrets operator running?)"
	}
	s := "Ready=" + r.status
	if r.reason != "" {
		s += " " + r.reason
	}
	return s
}

// remoteRef is one remote value an ExternalSecret reads: spec.data[i] or
// spec.dataFrom[i].
type remoteRef struct {
	field, key, property string
}

func (r remoteRef) String() string {
	s := r.key
	if r.property != "" {
		s += " (property " + r.property + ")"
	}
	return s
}

// remoteRefs are what an ExternalSecret reads, in its order.
func remoteRefs(es *unstructured.Unstructured) []remoteRef {
	var out []remoteRef
	data, _, _ := unstructured.NestedSlice(es.Object, "spec", "data")
	for i, d := range data {
		m, _ := d.(map[string]any)
		ref, _, _ := unstructured.NestedMap(m, "remoteRef")
		out = append(out, remoteRef{field: fmt.Sprintf("spec.data[%d]", i), key: str(ref, "key"), property: str(ref, "property")})
	}
	from, _, _ := unstructured.NestedSlice(es.Object, "spec", "dataFrom")
	for i, d := range from {
		m, _ := d.(map[string]any)
		r := remoteRef{field: fmt.Sprintf("spec.dataFrom[%d]", i)}
		if ex, ok, _ := unstructured.NestedMap(m, "extract"); ok {
			r.key, r.property = str(ex, "key"), str(ex, "property")
		} else if re, ok, _ := unstructured.NestedString(m, "find", "name", "regexp"); ok {
			r.key = "keys matching " + re
		} else if _, ok := m["find"]; ok {
			r.key = "keys found by tags"
		} else {
			continue // a generator: no remote key
		}
		out = append(out, r)
	}
	return out
}

var fieldIndex = regexp.MustCompile(`spec\.(data|dataFrom)\[(\d+)\]`)

// failingRefs are the remote values an ExternalSecret's status message names:
// the spec field it names (spec.data[2]), else the keys (and properties) that
// appear in it as words. None: the message names no single one.
func failingRefs(refs []remoteRef, message string) []remoteRef {
	var out []remoteRef
	for _, m := range fieldIndex.FindAllStringSubmatch(message, -1) {
		i, _ := strconv.Atoi(m[2])
		field := fmt.Sprintf("spec.%s[%d]", m[1], i)
		for _, r := range refs {
			if r.field == field && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	var keys []string
	for _, r := range refs {
		if r.key != "" && containsWord(message, r.key) && !slices.Contains(keys, r.key) {
			keys = append(keys, r.key)
		}
	}
	// A key that is part of a longer one also named (aidev-n8n in
	// aidev-n8n-encryption-key) is not the one meant.
	keys = slices.DeleteFunc(keys, func(k string) bool {
		return slices.ContainsFunc(keys, func(o string) bool { return o != k && strings.Contains(o, k) })
	})
	for _, k := range keys {
		var same []remoteRef
		for _, r := range refs {
			if r.key == k {
				same = append(same, r)
			}
		}
		if named := slices.DeleteFunc(slices.Clone(same), func(r remoteRef) bool {
			return r.property == "" || !containsWord(message, r.property)
		}); len(named) > 0 {
			same = named
		}
		out = append(out, same...)
	}
	return out
}

// containsWord says whether word appears in s not as part of a longer name.
func containsWord(s, word string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !nameChar(s[start-1])) && (end == len(s) || !nameChar(s[end])) {
			return true
		}
		i = start + 1
	}
}

// nameChar: a character that continues a name (a path's / and a sentence's
// period end one: projects/1/secrets/aidev-key.).
func nameChar(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func refList(refs []remoteRef) string {
	var s []string
	for _, r := range refs {
		s = append(s, r.String())
	}
	return strings.Join(s, ", ")
}

// store is a secret store the ExternalSecrets name.
type store struct{ kind, namespace, name string }

func (s store) String() string {
	if s.namespace == "" {
		return s.kind + " " + s.name
	}
	return s.kind + " " + s.namespace + "/" + s.name
}

// externalSecrets checks that the stores the profile's ExternalSecrets use are
// Ready and that every one of them synced; a failing one is named with its app
// and the remote key it could not read.
func (d *Doctor) externalSecrets(ctx context.Context) Check {
	list, err := d.managedBy(ctx, esGroup, "ExternalSecret", true)
	if err != nil {
		return fail("", "listing Applications: %v", err)
	}
	scope := "the apps"
	if d.Profile != nil {
		scope = d.Profile.Name + "'s apps"
	}
	if len(list) == 0 {
		return Check{Status: Skip, Message: "no ExternalSecret among " + scope + " (their status.resources)"}
	}
	var bad, unreadable []string
	stores := map[store][]string{}
	for _, m := range list {
		es, err := d.live(ctx, m, ExternalSecrets)
		switch {
		case apierrors.IsForbidden(err):
			unreadable = append(unreadable, m.String())
			continue
		case apierrors.IsNotFound(err):
			bad = append(bad, fmt.Sprintf("%s (app %s): not found (Argo CD lists it: sync the app)", m, m.app))
			continue
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s (app %s): cannot read it: %v", m, m.app, err))
			continue
		}
		kind, _, _ := unstructured.NestedString(es.Object, "spec", "secretStoreRef", "kind")
		name, _, _ := unstructured.NestedString(es.Object, "spec", "secretStoreRef", "name")
		if kind == "" {
			kind = "SecretStore"
		}
		s := store{kind: kind, name: name}
		if kind == "SecretStore" {
			s.namespace = es.GetNamespace()
		}
		if name != "" {
			stores[s] = append(stores[s], m.String())
		}
		r := readyOf(es)
		if r.status == "True" {
			continue
		}
		refs := remoteRefs(es)
		if failing := failingRefs(refs, r.message); len(failing) > 0 {
			bad = append(bad, fmt.Sprintf("%s (app %s): cannot read remote key %s: %s", m, m.app, refList(failing), r))
		} else if len(refs) > 0 {
			bad = append(bad, fmt.Sprintf("%s (app %s): %s; it reads remote keys %s", m, m.app, r, refList(refs)))
		} else {
			bad = append(bad, fmt.Sprintf("%s (app %s): %s", m, m.app, r))
		}
	}
	storeBad, storeOK := d.checkStores(ctx, stores)
	var fixes []string
	if len(storeBad) > 0 {
		fixes = append(fixes, "give the store its credentials: the workload-identity binding of its service account (roles/iam.workloadIdentityUser, roles/secretmanager.secretAccessor) or its key Secret (docs/bootstrap.md)")
	}
	if len(bad) > 0 {
		fixes = append(fixes, fmt.Sprintf("create the missing remote secrets: %s secrets --env %s -o script", d.Env.Host.Cmd("profile"), d.Env.Name))
	}
	if len(bad)+len(storeBad) > 0 {
		lines := []string{fmt.Sprintf("%d of %d ExternalSecrets of %s not Ready", len(bad), len(list), scope)}
		lines = append(lines, storeBad...)
		lines = append(lines, bad...)
		return Check{Status: Fail, Message: strings.Join(lines, "\n"), Fix: strings.Join(fixes, "; ")}
	}
	if len(unreadable) > 0 {
		return Check{Status: Warn, Message: "not allowed to read ExternalSecret(s) " + strings.Join(unreadable, ", "),
			Fix: "run doctor as a user who may get externalsecrets.external-secrets.io there"}
	}
	return pass("%s Ready; all %d ExternalSecrets of %s synced", strings.Join(storeOK, ", "), len(list), scope)
}

// checkStores reads each store the ExternalSecrets use: its Ready condition.
func (d *Doctor) checkStores(ctx context.Context, stores map[store][]string) (bad, ok []string) {
	keys := make([]store, 0, len(stores))
	for s := range stores {
		keys = append(keys, s)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, s := range keys {
		obj, err := d.readStore(ctx, s)
		users := fmt.Sprintf(" (used by %d ExternalSecret(s))", len(stores[s]))
		switch {
		case apierrors.IsNotFound(err):
			bad = append(bad, s.String()+" does not exist"+users)
			continue
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: cannot read it: %v", s, err))
			continue
		}
		r := readyOf(obj)
		if r.status == "True" {
			ok = append(ok, s.String())
			continue
		}
		msg := s.String() + " not Ready: " + r.String()
		if r.message != "" {
			msg += ": " + r.message
		}
		bad = append(bad, msg+users)
	}
	return bad, ok
}

// readStore reads a store: through the Application that manages it in server
// mode (Argo CD's API reads only what an app manages), else directly.
func (d *Doctor) readStore(ctx context.Context, s store) (*unstructured.Unstructured, error) {
	k := ClusterSecretStores
	if s.kind == "SecretStore" {
		k = SecretStores
	}
	if d.Argo == nil {
		return d.workloads().Resource(k, s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	}
	all, err := d.managedBy(ctx, esGroup, s.kind, false)
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		if m.ref.Name == s.name && m.ref.Namespace == s.namespace {
			return d.live(ctx, m, k)
		}
	}
	return nil, fmt.Errorf("no Application of project %s manages it, so Argo CD's API cannot read it (run with a kubeconfig to read it directly)", d.Env.Descriptor.Project)
}
