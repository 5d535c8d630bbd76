package profile

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// Status is what is live of an environment, against its model
// (`status -o json|yaml` prints it).
type Status struct {
	Environment    string `json:"environment"`
	AppliedProfile string `json:"appliedProfile,omitempty"`
	// Recorded: AppliedProfile is what apply recorded on the ApplySet; else
	// the profile whose layers are live (Argo CD's API shows no record).
	Recorded   bool        `json:"-"`
	LiveLayers []string    `json:"liveLayers"`
	Apps       []StatusApp `json:"apps"`
	// AppSetErrors are the ApplicationSets that report an error (their apps
	// are not generated while it stands).
	AppSetErrors []argocd.AppSetError `json:"appSetErrors,omitempty"`
}

// StatusApp is one app of the platform, live or expected.
type StatusApp struct {
	Name   string `json:"name"`
	Layer  string `json:"layer"`
	Group  string `json:"group"`
	Sync   string `json:"sync"`
	Health string `json:"health"`
	Gated  bool   `json:"gated"`
	// Manual: gated (deploys only on a sync) but without a gate annotation,
	// so not one of kubectl costgate's gates.
	Manual bool `json:"manual,omitempty"`
}

// Live is what a Reader read of the cluster.
type Live struct {
	AppliedProfile string // the ApplySet's record ("" when the reader has none)
	Recorded       bool   // the reader reads the record
	MemberLayers   []string
	AppSets        []*unstructured.Unstructured
	Apps           []*unstructured.Unstructured
}

// Reader reads what status needs, in one mode: KubeReader through the
// Kubernetes API, ArgoReader through Argo CD's.
type Reader interface {
	Read(ctx context.Context, env *platform.Env) (Live, error)
}

// KubeReader reads the ApplySet's record and one LIST each of the
// ApplicationSets and the Applications.
type KubeReader struct{ Client *kube.Client }

// Read implements Reader. The set's members say which layers are live; the
// environment's ApplicationSets by name, whoever applied them (kubectl apply
// -k of the same folder makes no member), say what fails.
func (k KubeReader) Read(ctx context.Context, env *platform.Env) (Live, error) {
	live := Live{Recorded: true}
	set := ApplySet(env)
	parent, err := set.GetParent(ctx, k.Client)
	if err != nil {
		return live, err
	}
	if parent != nil {
		live.AppliedProfile = parent.GetAnnotations()[AppliedProfileAnnotation]
	}
	all, err := k.Client.Resource(kube.ApplicationSets, env.Config.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return live, k.Client.Explain(err, kube.ApplicationSets)
	}
	for i := range all.Items {
		s := &all.Items[i]
		live.AppSets = append(live.AppSets, s)
		if l := s.GetLabels()[platform.LayerLabel]; set.IsMember(s) && !slices.Contains(live.MemberLayers, l) {
			live.MemberLayers = append(live.MemberLayers, l)
		}
	}
	apps, err := k.Client.Resource(kube.Applications, env.Config.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return live, k.Client.Explain(err, kube.Applications)
	}
	for i := range apps.Items {
		live.Apps = append(live.Apps, &apps.Items[i])
	}
	return live, nil
}

// ArgoReader reads the project's Applications and ApplicationSets through
// Argo CD's API, which shows no ApplySet: the live layers are those whose
// group apps exist.
type ArgoReader struct{ API *rest.Client }

// Read implements Reader.
func (a ArgoReader) Read(ctx context.Context, env *platform.Env) (Live, error) {
	var live Live
	apps, err := a.API.Applications(ctx, env.Descriptor.Project)
	if err != nil {
		return live, err
	}
	live.Apps = apps
	if live.AppSets, err = a.API.ApplicationSets(ctx, env.Descriptor.Project); err != nil {
		klog.V(1).Infof("not reading the ApplicationSets: %v", err)
	}
	return live, nil
}

// ReadStatus reads what is live with r and sets it against the model: every
// app of the environment's live layers, present or absent.
func ReadStatus(ctx context.Context, env *platform.Env, r Reader, now time.Time) (Status, error) {
	// Every app the environment can have: the expected apps of all its layers.
	expected, err := env.ExpectedApps(platform.Profile{Layers: env.LayerNames()})
	if err != nil {
		return Status{}, err
	}
	live, err := r.Read(ctx, env)
	if err != nil {
		return Status{}, err
	}
	st := Status{Environment: env.Name, AppliedProfile: live.AppliedProfile, Recorded: live.Recorded, LiveLayers: []string{}, Apps: []StatusApp{}}
	byName := map[string]argocd.AppStatus{}
	for _, a := range live.Apps {
		byName[a.GetName()] = argocd.StatusOf(a)
	}
	for _, s := range live.AppSets {
		if e, failing := argocd.AppSetErrorOf(s, now); failing && env.IsAppSetName(s.GetName()) {
			st.AppSetErrors = append(st.AppSetErrors, e)
		}
	}
	for _, l := range env.LayerNames() {
		groupAppLive := slices.ContainsFunc(expected, func(a platform.ExpectedApp) bool {
			_, ok := byName[a.Name]
			return ok && a.GroupApp && a.Layer == l
		})
		if slices.Contains(live.MemberLayers, l) || (!live.Recorded && groupAppLive) {
			st.LiveLayers = append(st.LiveLayers, l)
		}
	}
	if !live.Recorded {
		for _, p := range env.Profiles() {
			if slices.Equal(p.Layers, st.LiveLayers) {
				st.AppliedProfile = p.Name
			}
		}
	}
	for _, a := range expected {
		s, ok := byName[a.Name]
		if !ok && !slices.Contains(st.LiveLayers, a.Layer) {
			continue // its layer is not applied: not part of the status
		}
		sync, health := s.Sync, s.Health
		if !ok {
			sync, health = "Absent", "-"
		}
		st.Apps = append(st.Apps, StatusApp{Name: a.Name, Layer: a.Layer, Group: a.Group, Sync: sync, Health: health, Gated: a.Gated, Manual: a.Manual})
	}
	return st, nil
}
