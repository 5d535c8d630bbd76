package profile

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// ListOptions lists the environment's profiles.
type ListOptions struct {
	*common
	Output string
}

// ProfileSummary is one row of `list`.
type ProfileSummary struct {
	Name          string   `json:"name"`
	Description   string   `json:"description,omitempty"`
	Layers        []string `json:"layers"`
	EnabledGroups []string `json:"enabledGroups"`
	Apps          int      `json:"apps"`
	// GatedApps are the cost gates (a costgate.aidev.io/gate annotation): the
	// apps kubectl costgate lists, opens, closes and prices.
	GatedApps int `json:"gatedApps"`
	// ManualApps are the manual-sync apps without a gate annotation: they
	// deploy only on a sync too, but costgate does not see them nor their
	// cost (kubectl costgate lint warns about each).
	ManualApps int `json:"manualApps"`
}

func newCmdList(c *common) *cobra.Command {
	o := &ListOptions{common: c}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the profiles with their layers, enabled groups and app counts",
		Long: `Lists the profiles with their layers, enabled groups and app counts, from the tree
alone (no cluster). APPS counts the catalog Applications of the profile's enabled groups;
GATED those of them that are cost gates (a costgate.aidev.io/gate annotation: what
kubectl costgate list shows and prices); MANUAL the manual-sync apps without a gate
annotation, which deploy only on a sync too but whose cost costgate does not see
(kubectl costgate lint names the annotations to add).`,
		Example: `  kubectl profile list --env ai-dev
  kubectl profile list --env ai-dev -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml", "wide"); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml or wide")
	return cmd
}

// Summaries computes the list from the model and the tree alone (no cluster).
func Summaries(env *platform.Env) ([]ProfileSummary, error) {
	var out []ProfileSummary
	for _, p := range env.Profiles() {
		s := ProfileSummary{Name: p.Name, Description: p.Description, Layers: p.Layers, EnabledGroups: []string{}}
		apps, err := env.ExpectedApps(p)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			switch {
			case a.GroupApp:
				s.EnabledGroups = append(s.EnabledGroups, a.Group)
			case a.Manual:
				s.ManualApps++
				s.Apps++
			case a.Gated:
				s.GatedApps++
				s.Apps++
			default:
				s.Apps++
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Run prints the profiles.
func (o *ListOptions) Run() error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	list, err := Summaries(env)
	if err != nil {
		return err
	}
	if o.Output == "json" || o.Output == "yaml" {
		return printers.Data(o.Out, o.Output, list)
	}
	// GATED counts what kubectl costgate list shows (the annotated gates);
	// MANUAL the manual-sync apps costgate does not see. Both deploy only on
	// a sync (wait does not wait on them); only the first have a known cost.
	header := []string{"PROFILE", "LAYERS", "GROUPS", "APPS", "GATED", "MANUAL"}
	if o.Output == "wide" {
		header = append(header, "ENABLED GROUPS")
	}
	var rows [][]string
	for _, s := range list {
		row := []string{s.Name, strings.Join(s.Layers, ","), fmt.Sprint(len(s.EnabledGroups)), fmt.Sprint(s.Apps), fmt.Sprint(s.GatedApps), fmt.Sprint(s.ManualApps)}
		if o.Output == "wide" {
			row = append(row, strings.Join(s.EnabledGroups, ","))
		}
		rows = append(rows, row)
	}
	if err := printers.Table(o.Out, header, rows); err != nil {
		return err
	}
	if n := len(env.UngatedApps()); n > 0 {
		fmt.Fprintf(o.ErrOut, "note: the catalog has %d manual-sync app(s) without a %sgate annotation (MANUAL): %[3]s does not see them nor their cost; "+
			"%[3]s lint --env %[4]s names them and the annotations to add\n", n, platform.GateAnnotationPrefix, o.Cmd("costgate"), env.Name)
	}
	return nil
}
