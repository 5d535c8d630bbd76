package platform

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Kinds of the rendered objects.
const (
	ArgoGroup          = "argoproj.io"
	KindAppProject     = "AppProject"
	KindApplicationSet = "ApplicationSet"
	KindApplication    = "Application"
)

// ProfileObjects selects from the environment's rendered objects what a profile
// applies: the AppProjects first, then the ApplicationSets of its layers in
// bring-up order. Anything else in the render, or an ApplicationSet without a
// known layer label, is an error naming it.
func (e *Env) ProfileObjects(p Profile, rendered []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var projects []*unstructured.Unstructured
	byLayer := map[string][]*unstructured.Unstructured{}
	for _, o := range rendered {
		gk := o.GroupVersionKind().GroupKind()
		switch {
		case gk.Group == ArgoGroup && gk.Kind == KindAppProject:
			projects = append(projects, o)
		case gk.Group == ArgoGroup && gk.Kind == KindApplicationSet:
			layer := o.GetLabels()[LayerLabel]
			if !slices.Contains(e.LayerNames(), layer) {
				return nil, fmt.Errorf("%s: ApplicationSet %s: label %s=%q is not a layer of %s (layers: %v)",
					e.path(e.Descriptor.AppSets), o.GetName(), LayerLabel, layer, e.Name, e.LayerNames())
			}
			byLayer[layer] = append(byLayer[layer], o)
		default:
			return nil, fmt.Errorf("%s: renders %s %s: only AppProjects and ApplicationSets belong there",
				e.path(e.Descriptor.AppSets), o.GetKind(), o.GetName())
		}
	}
	out := projects
	for _, l := range p.Layers {
		if len(byLayer[l]) == 0 {
			return nil, fmt.Errorf("%s: no ApplicationSet is labelled %s=%s", e.path(e.Descriptor.AppSets), LayerLabel, l)
		}
		out = append(out, byLayer[l]...)
	}
	return out, nil
}

// ExpectedApp is an Application a profile brings up, as the model predicts it.
type ExpectedApp struct {
	Name  string `json:"name"`
	Layer string `json:"layer"`
	Group string `json:"group"`
	// Gated apps exist after apply but deploy only on an explicit sync.
	Gated bool `json:"gated"`
	// GroupApp is the ApplicationSet's Application for a whole group.
	GroupApp bool `json:"groupApp,omitempty"`
}

// GroupAppName is the name the layer ApplicationSets give a group's Application.
func GroupAppName(group string) string { return "group-" + group }

// ExpectedApps lists the Applications a profile produces: per enabled group of its
// layers, the group app and the catalog apps, in layer and group order.
func (e *Env) ExpectedApps(p Profile) []ExpectedApp {
	var out []ExpectedApp
	for _, l := range e.Descriptor.Layers {
		if !slices.Contains(p.Layers, l.Name) {
			continue
		}
		for _, g := range l.Groups {
			if !e.GroupEnabled(g) {
				continue
			}
			out = append(out, ExpectedApp{Name: GroupAppName(g.Name), Layer: l.Name, Group: g.Name, GroupApp: true})
			for _, a := range e.Apps {
				if a.Group == g.Name {
					out = append(out, ExpectedApp{Name: a.Name, Layer: l.Name, Group: g.Name, Gated: a.Gate != nil || !a.Automated})
				}
			}
		}
	}
	return out
}
