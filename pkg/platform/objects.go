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

// ProfileObjects is what a profile applies, from the rendered appsets folder
// (see AppSets): the AppProjects first, then the ApplicationSets of its layers
// in bring-up order, each labelled with its layer (LayerLabel) when the tree
// does not, so the live objects say which layer they serve. The objects are
// copies the caller may change.
func (e *Env) ProfileObjects(p Profile) ([]*unstructured.Unstructured, error) {
	sets, err := e.AppSets()
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, o := range sets.Projects {
		out = append(out, o.DeepCopy())
	}
	for _, l := range p.Layers {
		ls, ok := sets.Layers[l]
		if !ok {
			return nil, fmt.Errorf("profile %s: unknown layer %q", p.Name, l)
		}
		o := ls.Object.DeepCopy()
		if o.GetLabels()[LayerLabel] != l {
			labels := o.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			labels[LayerLabel] = l
			o.SetLabels(labels)
		}
		out = append(out, o)
	}
	return out, nil
}

// ExpectedApp is an Application a profile brings up, as the model predicts it.
type ExpectedApp struct {
	Name  string `json:"name"`
	Layer string `json:"layer"`
	Group string `json:"group"`
	// Gated apps exist after apply but deploy only on an explicit sync: the
	// cost gates, and the manual-sync apps without a gate annotation (Manual).
	// wait does not wait on them.
	Gated bool `json:"gated"`
	// Manual: a manual-sync app without a costgate.aidev.io/gate annotation.
	// Gated too (it deploys only on a sync), but not a cost gate: costgate
	// does not see it, nor its cost (costgate lint warns about it).
	Manual bool `json:"manual,omitempty"`
	// GroupApp is the ApplicationSet's Application for a whole group.
	GroupApp bool `json:"groupApp,omitempty"`
	// Parent is what creates the app: the name of its layer's ApplicationSet
	// for a group app, the name of its group app for a catalog app.
	Parent string `json:"parent"`
}

// ExpectedApps lists the Applications a profile produces: per enabled group of its
// layers, the group app and the catalog apps, in layer and group order. The
// group apps' names are the ones the layers' ApplicationSets give them.
func (e *Env) ExpectedApps(p Profile) ([]ExpectedApp, error) {
	sets, err := e.AppSets()
	if err != nil {
		return nil, err
	}
	var out []ExpectedApp
	for _, l := range e.Descriptor.Layers {
		if !slices.Contains(p.Layers, l.Name) {
			continue
		}
		ls := sets.Layers[l.Name]
		for _, g := range l.Groups {
			if !e.GroupEnabled(g) {
				continue
			}
			groupApp := ls.GroupApps[g.Name]
			out = append(out, ExpectedApp{Name: groupApp, Layer: l.Name, Group: g.Name, GroupApp: true, Parent: ls.Name})
			for _, a := range e.Apps {
				if a.Group == g.Name && e.AppIncluded(a) {
					out = append(out, ExpectedApp{Name: a.Name, Layer: l.Name, Group: g.Name, Parent: groupApp,
						Gated: a.Gate != nil || !a.Automated, Manual: a.ManualUngated()})
				}
			}
		}
	}
	return out, nil
}

// CatalogApps are the catalog's Applications a profile brings up: those of the
// enabled groups of its layers (no group apps; no rendering needed).
func (e *Env) CatalogApps(p Profile) []App {
	var out []App
	for _, l := range e.Descriptor.Layers {
		if !slices.Contains(p.Layers, l.Name) {
			continue
		}
		for _, g := range l.Groups {
			if !e.GroupEnabled(g) {
				continue
			}
			for _, a := range e.Apps {
				if a.Group == g.Name && e.AppIncluded(a) {
					out = append(out, a)
				}
			}
		}
	}
	return out
}
