package profile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
)

// StatusOptions shows what is live.
type StatusOptions struct {
	*common
	Output string
	Fleet  cli.FleetFlags
}

func newCmdStatus(c *common) *cobra.Command {
	o := &StatusOptions{common: c}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show which profile's layers are live and the state of their apps",
		Example: `  kubectl profile status --env ai-dev
  kubectl profile status --env ai-dev -o json

  # Every environment under clusters/, each on its own cluster
  kubectl profile status --all-envs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
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
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	o.Fleet.AddFlags(cmd.Flags())
	return cmd
}

// readStatus reads what is live of the environment.
func (c *common) readStatus(ctx context.Context) (*profile.Status, error) {
	env, err := c.Env()
	if err != nil {
		return nil, err
	}
	reader, err := (&StatusOptions{common: c}).statusReader(ctx, env)
	if err != nil {
		return nil, err
	}
	st, err := profile.ReadStatus(ctx, env, reader, c.Now())
	return &st, err
}

// EnvStatus is one environment's status in a fleet view.
type EnvStatus struct {
	Env     string          `json:"env"`
	Context string          `json:"context,omitempty"`
	Status  *profile.Status `json:"status,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// RunFleet shows every environment under --dir, each read on its own cluster,
// concurrently: one line per environment (profile, live layers, apps Synced
// and Healthy), then the apps that are not, with their environment. An
// environment that cannot be read is a line that says why, and exit 1.
func (o *StatusOptions) RunFleet(ctx context.Context) error {
	results, err := cli.Fleet(ctx, o.Factory, o.Fleet, func(ctx context.Context, g *cli.Factory) (*profile.Status, error) {
		return (&common{Factory: g}).readStatus(ctx)
	})
	if err != nil {
		return err
	}
	var envs []EnvStatus
	var unreadable []string
	var summary, trouble [][]string
	for _, r := range results {
		e := EnvStatus{Env: r.Env, Context: r.Context, Status: r.Value}
		if r.Err != nil {
			e.Error, e.Status = r.Err.Error(), nil
			unreadable = append(unreadable, r.Env)
			summary = append(summary, []string{r.Env, printers.Dash(r.Context), "?", "?", "?", "?", e.Error})
			envs = append(envs, e)
			continue
		}
		st := r.Value
		synced, healthy := 0, 0
		for _, a := range st.Apps {
			if a.Sync == "Synced" {
				synced++
			}
			if a.Health == "Healthy" {
				healthy++
			}
			if (a.Sync != "Synced" || a.Health != "Healthy") && !(a.Gated && a.Sync == "") {
				trouble = append(trouble, []string{r.Env, a.Name, a.Layer, a.Group, printers.Dash(a.Sync), printers.Dash(a.Health)})
			}
		}
		status := "ok"
		if len(st.AppSetErrors) > 0 {
			status = fmt.Sprintf("%d ApplicationSet(s) failing", len(st.AppSetErrors))
		}
		summary = append(summary, []string{r.Env, printers.Dash(r.Context), printers.Dash(st.AppliedProfile), printers.Dash(strings.Join(st.LiveLayers, ",")),
			fmt.Sprintf("%d/%d", synced, len(st.Apps)), fmt.Sprintf("%d/%d", healthy, len(st.Apps)), status})
		envs = append(envs, e)
	}
	if o.Output != "" {
		if err := printers.Data(o.Out, o.Output, envs); err != nil {
			return err
		}
	} else {
		if err := printers.Table(o.Out, []string{"ENV", "CONTEXT", "PROFILE", "LIVE LAYERS", "SYNCED", "HEALTHY", "STATUS"}, summary); err != nil {
			return err
		}
		if len(trouble) > 0 {
			fmt.Fprintln(o.Out, "\nnot Synced and Healthy:")
			if err := printers.Table(o.Out, []string{"ENV", "APP", "LAYER", "GROUP", "SYNC", "HEALTH"}, trouble); err != nil {
				return err
			}
		}
	}
	return cli.FleetError("could not be read", unreadable, len(results))
}

// Run reads what is live in the invocation's mode (the ApplySet's record
// and one LIST each, or Argo CD's API) and prints it against the model.
func (o *StatusOptions) Run(ctx context.Context) error {
	p, err := o.readStatus(ctx)
	if err != nil {
		return err
	}
	st := *p
	if o.Output != "" {
		return printers.Data(o.Out, o.Output, st)
	}
	applied := st.AppliedProfile
	if applied == "" {
		applied = "(none)"
	}
	if !st.Recorded {
		fmt.Fprintf(o.Out, "environment %s: profile %s live (from its layers: Argo CD's API does not show what apply recorded); live layers: %s\n\n",
			st.Environment, applied, strings.Join(st.LiveLayers, ", "))
	} else {
		fmt.Fprintf(o.Out, "environment %s: profile %s applied; live layers: %s\n\n", st.Environment, applied, strings.Join(st.LiveLayers, ", "))
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

// statusReader reads through Argo CD's API in server mode, else the Kubernetes API.
func (o *StatusOptions) statusReader(ctx context.Context, env *platform.Env) (profile.Reader, error) {
	argo, serverMode, err := o.ArgoREST()
	if err != nil || serverMode {
		return profile.ArgoReader{API: argo}, err
	}
	client, err := o.connect(ctx, env)
	return profile.KubeReader{Client: client}, err
}
