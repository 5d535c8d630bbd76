package profile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// StatusOptions shows what is live.
type StatusOptions struct {
	*common
	Output string
}

// Status is what `status -o json|yaml` prints.
type Status struct {
	Environment    string      `json:"environment"`
	AppliedProfile string      `json:"appliedProfile,omitempty"`
	LiveLayers     []string    `json:"liveLayers"`
	Apps           []StatusApp `json:"apps"`
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

func newCmdStatus(c *common) *cobra.Command {
	o := &StatusOptions{common: c}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show which profile's layers are live and the state of their apps",
		Example: `  kubectl profile status --env ai-dev
  kubectl profile status --env ai-dev -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// Run reads the ApplySet parent, the live ApplicationSets and all Applications
// (one LIST each) and prints them against the model.
func (o *StatusOptions) Run(ctx context.Context) error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	// Every app the environment can have: the expected apps of all its layers.
	expected, err := env.ExpectedApps(platform.Profile{Layers: env.LayerNames()})
	if err != nil {
		return err
	}
	st := Status{Environment: env.Name, LiveLayers: []string{}, Apps: []StatusApp{}}
	byName := map[string]argocd.AppStatus{}
	argo, serverMode, err := o.ArgoREST()
	if err != nil {
		return err
	}
	if serverMode {
		// Argo CD's API shows the Applications, not the ApplySet's record: the
		// live layers are those whose group apps exist, and the profile the
		// one whose layers they are.
		apps, err := argo.Applications(ctx, env.Descriptor.Project)
		if err != nil {
			return err
		}
		for _, a := range apps {
			byName[a.GetName()] = argocd.StatusOf(a)
		}
		if sets, err := argo.ApplicationSets(ctx, env.Descriptor.Project); err == nil {
			for i := range sets {
				if e, failing := argocd.AppSetErrorOf(sets[i], o.Now()); failing && env.IsAppSetName(sets[i].GetName()) {
					st.AppSetErrors = append(st.AppSetErrors, e)
				}
			}
		} else {
			klog.V(1).Infof("not reading the ApplicationSets: %v", err)
		}
		for _, a := range expected {
			if _, live := byName[a.Name]; live && a.GroupApp && !slices.Contains(st.LiveLayers, a.Layer) {
				st.LiveLayers = append(st.LiveLayers, a.Layer)
			}
		}
		slices.SortFunc(st.LiveLayers, func(a, b string) int { return slices.Index(env.LayerNames(), a) - slices.Index(env.LayerNames(), b) })
		for _, p := range env.Profiles() {
			if slices.Equal(p.Layers, st.LiveLayers) {
				st.AppliedProfile = p.Name
			}
		}
	} else {
		client, err := o.connect(ctx, env)
		if err != nil {
			return err
		}
		set := applySet(env)
		parent, err := set.GetParent(ctx, client)
		if err != nil {
			return err
		}
		if parent != nil {
			st.AppliedProfile = parent.GetAnnotations()[appliedProfileAnnotation]
		}
		// One LIST of the ApplicationSets: the set's members say which layers
		// are live; the environment's by name, whoever applied them (kubectl
		// apply -k of the same folder makes no member), say what fails.
		all, err := client.Resource(kube.ApplicationSets, env.Config.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return client.Explain(err, kube.ApplicationSets)
		}
		for i := range all.Items {
			s := &all.Items[i]
			if e, failing := argocd.AppSetErrorOf(s, o.Now()); failing && env.IsAppSetName(s.GetName()) {
				st.AppSetErrors = append(st.AppSetErrors, e)
			}
		}
		for _, l := range env.LayerNames() {
			for i := range all.Items {
				s := &all.Items[i]
				if set.IsMember(s) && s.GetLabels()[platform.LayerLabel] == l && !slices.Contains(st.LiveLayers, l) {
					st.LiveLayers = append(st.LiveLayers, l)
				}
			}
		}
		apps, err := client.Resource(kube.Applications, env.Config.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return client.Explain(err, kube.Applications)
		}
		for i := range apps.Items {
			byName[apps.Items[i].GetName()] = argocd.StatusOf(&apps.Items[i])
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
	if o.Output != "" {
		return printers.Data(o.Out, o.Output, st)
	}
	applied := st.AppliedProfile
	if applied == "" {
		applied = "(none)"
	}
	if serverMode {
		fmt.Fprintf(o.Out, "environment %s: profile %s live (from its layers: Argo CD's API does not show what apply recorded); live layers: %s\n\n",
			env.Name, applied, strings.Join(st.LiveLayers, ", "))
	} else {
		fmt.Fprintf(o.Out, "environment %s: profile %s applied; live layers: %s\n\n", env.Name, applied, strings.Join(st.LiveLayers, ", "))
	}
	var rows [][]string
	for _, a := range st.Apps {
		gated := ""
		switch {
		case a.Manual:
			gated = "manual" // no gate annotation: costgate does not see it
		case a.Gated:
			gated = "gated"
		}
		rows = append(rows, []string{a.Name, a.Layer, a.Group, printers.Dash(a.Sync), printers.Dash(a.Health), gated})
	}
	if err := printers.Table(o.Out, []string{"APP", "LAYER", "GROUP", "SYNC", "HEALTH", "GATED"}, rows); err != nil {
		return err
	}
	for _, e := range st.AppSetErrors {
		fmt.Fprintf(o.Out, "\nApplicationSet %s fails since %s: %s\n", e.Name, e.Since.UTC().Format(time.RFC3339), e.Message)
	}
	return nil
}
