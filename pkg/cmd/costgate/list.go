package costgate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// ListOptions lists the gates.
type ListOptions struct {
	*common
	Output string
	Fleet  cli.FleetFlags
}

func newCmdList(c *common) *cobra.Command {
	o := &ListOptions{common: c}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"status"},
		Short:   "List every gated app: gate, state, replicas, cost, time up, who opened it, its lease, what it cost (-o wide: target, layer, sync, health)",
		Example: `  kubectl costgate list --env ai-dev
  kubectl costgate status --env ai-dev -o wide
  kubectl costgate list --env ai-dev -o json

  # Every environment under clusters/, each on its own cluster: one table, the fleet's cost
  kubectl costgate list --all-envs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml", "wide"); err != nil {
				return err
			}
			if err := o.Fleet.Validate(o.Factory, cmd); err != nil {
				return err
			}
			if o.Fleet.AllEnvs {
				return o.RunFleet(cmd.Context())
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml or wide")
	o.Fleet.AddFlags(cmd.Flags())
	return cmd
}

// gateList is one environment's gates as list reads them.
type gateList struct {
	env      *platform.Env
	gated    []platform.App
	statuses []costgate.Status
}

// read reads the gates of the environment.
func (c *common) readGates(ctx context.Context) (gateList, error) {
	s, err := c.open(ctx)
	if err != nil {
		return gateList{}, err
	}
	gated := costgate.Configured(s.env)
	live, err := s.gates.ReadLive(ctx, gated)
	if err != nil {
		return gateList{}, err
	}
	return gateList{env: s.env, gated: gated, statuses: costgate.Observe(s.env.Host, gated, live, c.Now())}, nil
}

// Run lists.
func (o *ListOptions) Run(ctx context.Context) error {
	l, err := o.readGates(ctx)
	if err != nil {
		return err
	}
	// The apps a gate annotation would make gates: manual-sync too, but not
	// listed, their cost unknown. Said on stderr, so -o json stays data.
	if manual := l.env.UngatedApps(); len(manual) > 0 {
		var names []string
		for _, a := range manual {
			names = append(names, a.Name)
		}
		fmt.Fprintf(o.ErrOut, "note: %d manual-sync app(s) have no %sgate annotation and are not listed, their cost unknown: %s; "+
			"%s lint --env %s names the annotations to add\n",
			len(manual), platform.GateAnnotationPrefix, strings.Join(names, ", "), o.Display(), l.env.Name)
	}
	// A target kind the user may not list: its gates are unknown, the rest listed.
	for _, st := range l.statuses {
		if st.State == costgate.StateUnknown {
			fmt.Fprintf(o.ErrOut, "warning: %s is unknown: %s\n", st.App, st.Reason)
		}
	}
	if o.Output == "json" || o.Output == "yaml" {
		return printers.Data(o.Out, o.Output, l.statuses)
	}
	rows, total, spent := o.rows(l, "")
	if err := printers.Table(o.Out, o.header(false), rows); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "\nopen gates cost $%.2f per hour, $%.2f since they opened\n", total, spent)
	return nil
}

// header is list's table header, with an ENV column first in a fleet view.
func (o *ListOptions) header(fleet bool) []string {
	// Like kubectl get: what a person acts on by default (fits 120 columns),
	// where each gate sits and what Argo CD says with -o wide.
	header := []string{"APP", "GATE", "STATE", "REPLICAS", "COST/H", "UP FOR", "OPENED BY", "EXPIRES", "SPENT"}
	if fleet {
		header = append([]string{"ENV"}, header...)
	}
	if o.Output == "wide" {
		header = append(header, "TARGET", "LAYER", "GROUP", "SYNC", "HEALTH", "WHY OPEN", "NOTE")
	}
	return header
}

// rows are one environment's table rows (led by env when not ""), and what
// its open gates cost per hour and have cost since they opened.
func (o *ListOptions) rows(l gateList, env string) (rows [][]string, total, spent float64) {
	now := o.Now()
	byName := map[string]platform.App{}
	for _, a := range l.gated {
		byName[a.Name] = a
	}
	for _, st := range l.statuses {
		up := "-"
		if st.UpSince != nil {
			up = now.Sub(*st.UpSince).Round(time.Second).String()
		}
		replicas := "-"
		if st.Gate != "sync" && st.State != costgate.StateAbsent && st.State != costgate.StateUnknown {
			replicas = fmt.Sprintf("%d/%d", st.Ready, st.Desired)
		}
		cost := "-"
		if st.Open() {
			cost = fmt.Sprintf("$%.2f", st.CostSince)
		}
		row := []string{st.App, st.Gate, string(st.State), replicas, fmt.Sprintf("$%.2f", st.CostPerHour), up,
			printers.Dash(st.OpenedBy), expires(byName[st.App], st, now), cost}
		if env != "" {
			row = append([]string{env}, row...)
		}
		if o.Output == "wide" {
			row = append(row, printers.Dash(st.Target), st.Layer, st.Group, st.Sync, st.Health, printers.Dash(st.OpenReason), st.Reason)
		}
		rows = append(rows, row)
		if st.Open() {
			total += st.CostPerHour
			spent += st.CostSince
		}
	}
	return rows, total, spent
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

// EnvGates is one environment's gates in a fleet view.
type EnvGates struct {
	Env string `json:"env"`
	// Context is the kubeconfig context the environment was read from.
	Context         string            `json:"context,omitempty"`
	Gates           []costgate.Status `json:"gates"`
	OpenGates       int               `json:"openGates"`
	OpenCostPerHour float64           `json:"openCostPerHour"`
	Spent           float64           `json:"spent"`
	// Error says why the environment could not be read (its gates are then
	// unknown, not closed).
	Error string `json:"error,omitempty"`
}

// FleetGates is list --all-envs: every environment's gates and the fleet's cost.
type FleetGates struct {
	Envs            []EnvGates `json:"envs"`
	OpenGates       int        `json:"openGates"`
	OpenCostPerHour float64    `json:"openCostPerHour"`
	Spent           float64    `json:"spent"`
	Unreadable      []string   `json:"unreadable,omitempty"`
}

// RunFleet lists the gates of every environment under --dir, each read on
// its own cluster, concurrently: one table with an ENV column, each
// environment's open cost and the fleet's. An environment that cannot be read
// is a row that says why; the view still shows the others, and exits 1.
func (o *ListOptions) RunFleet(ctx context.Context) error {
	results, err := cli.Fleet(ctx, o.Factory, o.Fleet, func(ctx context.Context, g *cli.Factory) (gateList, error) {
		return (&common{Factory: g}).readGates(ctx)
	})
	if err != nil {
		return err
	}
	var fleet FleetGates
	var rows [][]string
	lists := map[string]gateList{}
	for _, r := range results {
		e := EnvGates{Env: r.Env, Context: r.Context, Gates: []costgate.Status{}}
		if r.Err != nil {
			e.Error = r.Err.Error()
			fleet.Unreadable = append(fleet.Unreadable, r.Env)
		} else {
			lists[r.Env] = r.Value
			e.Gates = r.Value.statuses
			envRows, total, spent := o.rows(r.Value, r.Env)
			rows = append(rows, envRows...)
			e.OpenCostPerHour, e.Spent = total, spent
			for _, st := range e.Gates {
				if st.Open() {
					e.OpenGates++
				}
			}
		}
		fleet.Envs = append(fleet.Envs, e)
		fleet.OpenGates += e.OpenGates
		fleet.OpenCostPerHour += e.OpenCostPerHour
		fleet.Spent += e.Spent
	}
	if o.Output == "json" || o.Output == "yaml" {
		if err := printers.Data(o.Out, o.Output, fleet); err != nil {
			return err
		}
	} else {
		if len(rows) > 0 {
			if err := printers.Table(o.Out, o.header(true), rows); err != nil {
				return err
			}
			fmt.Fprintln(o.Out)
		}
		var summary [][]string
		for _, e := range fleet.Envs {
			status := "ok"
			gates, open, cost, spent := fmt.Sprint(len(e.Gates)), fmt.Sprint(e.OpenGates), fmt.Sprintf("$%.2f", e.OpenCostPerHour), fmt.Sprintf("$%.2f", e.Spent)
			if e.Error != "" {
				status, gates, open, cost, spent = e.Error, "?", "?", "?", "?"
			}
			summary = append(summary, []string{e.Env, printers.Dash(e.Context), gates, open, cost, spent, status})
		}
		if err := printers.Table(o.Out, []string{"ENV", "CONTEXT", "GATES", "OPEN", "COST/H", "SPENT", "STATUS"}, summary); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "\nfleet: %d open gate(s) cost $%.2f per hour, $%.2f since they opened", fleet.OpenGates, fleet.OpenCostPerHour, fleet.Spent)
		if n := len(fleet.Unreadable); n > 0 {
			fmt.Fprintf(o.Out, " (without %s: not read)", strings.Join(fleet.Unreadable, ", "))
		}
		fmt.Fprintln(o.Out)
	}
	return cli.FleetError("could not be read", fleet.Unreadable, len(fleet.Envs))
}
