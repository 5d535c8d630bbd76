package costgate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// ListOptions lists the gates.
type ListOptions struct {
	*common
	Output string
}

func newCmdList(c *common) *cobra.Command {
	o := &ListOptions{common: c}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"status"},
		Short:   "List every gated app: gate, state, replicas, cost, time up, who opened it, its lease, what it cost (-o wide: target, layer, sync, health)",
		Example: `  kubectl costgate list --env ai-dev
  kubectl costgate status --env ai-dev -o wide
  kubectl costgate list --env ai-dev -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml", "wide"); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml or wide")
	return cmd
}

// Run lists.
func (o *ListOptions) Run(ctx context.Context) error {
	s, err := o.open(ctx)
	if err != nil {
		return err
	}
	gated := costgate.Configured(s.env)
	live, err := s.gates.ReadLive(ctx, gated)
	if err != nil {
		return err
	}
	now := o.Now()
	statuses := costgate.Observe(s.env.Host, gated, live, now)
	// The apps a gate annotation would make gates: manual-sync too, but not
	// listed, their cost unknown. Said on stderr, so -o json stays data.
	if manual := s.env.UngatedApps(); len(manual) > 0 {
		var names []string
		for _, a := range manual {
			names = append(names, a.Name)
		}
		fmt.Fprintf(o.ErrOut, "note: %d manual-sync app(s) have no %sgate annotation and are not listed, their cost unknown: %s; "+
			"%s lint --env %s names the annotations to add\n",
			len(manual), platform.GateAnnotationPrefix, strings.Join(names, ", "), o.Display(), s.env.Name)
	}
	if o.Output == "json" || o.Output == "yaml" {
		return printers.Data(o.Out, o.Output, statuses)
	}
	// Like kubectl get: what a person acts on by default (fits 120 columns),
	// where each gate sits and what Argo CD says with -o wide.
	header := []string{"APP", "GATE", "STATE", "REPLICAS", "COST/H", "UP FOR", "OPENED BY", "EXPIRES", "SPENT"}
	if o.Output == "wide" {
		header = append(header, "TARGET", "LAYER", "GROUP", "SYNC", "HEALTH", "WHY OPEN", "NOTE")
	}
	var rows [][]string
	total, spent := 0.0, 0.0
	byName := map[string]platform.App{}
	for _, a := range gated {
		byName[a.Name] = a
	}
	for _, st := range statuses {
		up := "-"
		if st.UpSince != nil {
			up = now.Sub(*st.UpSince).Round(time.Second).String()
		}
		replicas := "-"
		if st.Gate != "sync" && st.State != costgate.StateAbsent {
			replicas = fmt.Sprintf("%d/%d", st.Ready, st.Desired)
		}
		cost := "-"
		if st.Open() {
			cost = fmt.Sprintf("$%.2f", st.CostSince)
		}
		row := []string{st.App, st.Gate, string(st.State), replicas, fmt.Sprintf("$%.2f", st.CostPerHour), up,
			printers.Dash(st.OpenedBy), expires(byName[st.App], st, now), cost}
		if o.Output == "wide" {
			row = append(row, printers.Dash(st.Target), st.Layer, st.Group, st.Sync, st.Health, printers.Dash(st.OpenReason), st.Reason)
		}
		rows = append(rows, row)
		if st.Open() {
			total += st.CostPerHour
			spent += st.CostSince
		}
	}
	if err := printers.Table(o.Out, header, rows); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "\nopen gates cost $%.2f per hour, $%.2f since they opened\n", total, spent)
	return nil
}

// expires is when an open gate closes by itself: its lease ("in 1h30m0s",
// "expired" until idle closes it), else the end of its uptime window.
func expires(app platform.App, st costgate.Status, now time.Time) string {
	switch {
	case !st.Open():
		return "-"
	case st.ExpiresAt != nil && !now.Before(*st.ExpiresAt):
		return "expired"
	case st.ExpiresAt != nil:
		return "in " + st.ExpiresAt.Sub(now).Round(time.Second).String()
	case app.Gate != nil && app.Gate.Uptime != nil:
		if end := app.Gate.Uptime.Next(now); !end.IsZero() {
			return "window " + end.Format("Mon 15:04 MST")
		}
	}
	return "-"
}
