package profile

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/version"
)

// FieldManager owns the fields kubectl profile applies.
const FieldManager = "kubectl-profile"

// Annotations on the ApplySet parent that record what was applied last.
const (
	AppliedProfileAnnotation = "profile.aidev.io/profile"
	AppliedLayersAnnotation  = "profile.aidev.io/layers"
)

// ApplySet is the set of objects kubectl profile owns in an environment.
func ApplySet(env *platform.Env) kube.ApplySet {
	return kube.ApplySet{
		Name:      "kubectl-profile-" + env.Name,
		Namespace: env.Config.Namespace,
		Tooling:   FieldManager + "/" + version.Version,
		Kinds:     []kube.Kind{kube.AppProjects, kube.ApplicationSets},
	}
}

// Desired renders what a profile applies, labelled as members of the ApplySet and
// namespaced, after checking that the generated files mean what the config says
// (a stale overlay would apply the wrong repoURL). The appsets folder is
// rendered once per command (the Env keeps it).
func Desired(env *platform.Env, p platform.Profile) ([]*unstructured.Unstructured, error) {
	// kustomize runs while the generated files are compared (they share nothing);
	// its result is used only when they are fresh.
	type result struct {
		objs []*unstructured.Unstructured
		err  error
	}
	rendered := make(chan result, 1)
	go func() {
		objs, err := env.ProfileObjects(p)
		rendered <- result{objs, err}
	}()
	stale, err := env.StaleFiles()
	r := <-rendered
	if err != nil {
		return nil, err
	}
	if len(stale) > 0 {
		return nil, fmt.Errorf("%s is stale against %s: run `%s resolve --env %s` and commit the result",
			strings.Join(platform.Paths(stale), ", "), env.ConfigPath(), env.Host.Cmd("profile"), env.Name)
	}
	objs, err := r.objs, r.err
	if err != nil {
		return nil, err
	}
	set := ApplySet(env)
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(env.Config.Namespace)
		}
		set.Label(o)
	}
	return objs, nil
}

// Ref names an object the way kubectl prints it: applicationset.argoproj.io/<name>.
func Ref(o *unstructured.Unstructured) string {
	gk := o.GroupVersionKind().GroupKind()
	kind := strings.ToLower(gk.Kind)
	if gk.Group != "" {
		kind += "." + gk.Group
	}
	return kind + "/" + o.GetName()
}
