package profile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
)

// StatusOptions shows what is live.
type StatusOptions struct {
	*common
	Output string
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

// Run reads what is live in the invocation's mode (the ApplySet's record
// and one LIST each, or Argo CD's API) and prints it against the model.
func (o *StatusOptions) Run(ctx context.Context) error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	reader, err := o.statusReader(ctx, env)
	if err != nil {
		return err
	}
	st, err := profile.ReadStatus(ctx, env, reader, o.Now())
	if err != nil {
		return err
	}
	if o.Output != "" {
		return printers.Data(o.Out, o.Output, st)
	}
	applied := st.AppliedProfile
	if applied == "" {
		applied = "(none)"
	}
	if !st.Recorded {
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

// statusReader reads through Argo CD's API in server mode, else the Kubernetes API.
func (o *StatusOptions) statusReader(ctx context.Context, env *platform.Env) (profile.Reader, error) {
	argo, serverMode, err := o.ArgoREST()
	if err != nil || serverMode {
		return profile.ArgoReader{API: argo}, err
	}
	client, err := o.connect(ctx, env)
	return profile.KubeReader{Client: client}, err
}
