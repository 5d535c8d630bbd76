package smoke

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke"
)

// DoctorOptions runs the read-only checks.
type DoctorOptions struct {
	*common
	Profile string
	Output  string
	JUnit   string
}

func newCmdDoctor(c *common) *cobra.Command {
	o := &DoctorOptions{common: c}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the cluster, Argo CD and the profile (read-only); exit 1 when a check fails",
		Long: `Checks, each PASS, WARN, FAIL or SKIP with a one-line fix: the API server answers; Argo
CD's CRDs, namespace and controllers; what the first apply needs (argocd-bootstrap: an
Argo CD at least platform.yaml's argocd.minVersion, config.yaml's repoURL readable by the
repo-server, the descriptor's AppProject); the resolved groups are fresh; the profile's
AppProject, ApplicationSets and auto-sync apps are there and Synced/Healthy (gated apps are
reported, never failed); the ClusterSecretStore and every ExternalSecret of the profile's
apps are Ready (external-secrets: a failing one is named with its app and the remote key it
cannot read); a GPU node for serving profiles; a default StorageClass;
LoadBalancer addresses; the serving path's Secrets (names only, never values); and the
RBAC each command needs, asked per namespace (Argo CD's, each gate target's, each chat
app's) and reported by command: a denied profile verb (apply, status, wait, and the
preflight every command runs) fails, a denied optional one (apply --prune, costgate,
smoke chat) warns. Nothing is written.`,
		Example: `  kubectl smoke doctor --env ai-dev
  kubectl smoke doctor --profile serving --env ai-dev -o json
  kubectl smoke doctor --profile full --env ai-dev --junit doctor.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.Profile, "profile", "", "Profile whose layers and apps to check")
	_ = cmd.RegisterFlagCompletionFunc("profile", c.EnvFlags.CompleteFlag(cli.ProfileNames))
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml (default: a table)")
	cmd.Flags().StringVar(&o.JUnit, "junit", "", "Also write the checks as a JUnit XML file")
	return cmd
}

// Run runs the checks, prints them, and fails when one failed.
func (o *DoctorOptions) Run(ctx context.Context) error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	checks, err := runDoctor(ctx, o.common, env, o.Profile)
	if err != nil {
		return err
	}
	if err := report(o.common, checks, o.Output, o.JUnit); err != nil {
		return err
	}
	if n := summary(checks); n > 0 {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%d check(s) failed", n)}
	}
	return nil
}

func runDoctor(ctx context.Context, c *common, env *platform.Env, profile string) ([]smoke.Check, error) {
	d, err := c.doctor(env, profile)
	if err != nil {
		return nil, err
	}
	return d.Run(ctx), nil
}

// report prints the checks and writes the JUnit file.
func report(c *common, checks []smoke.Check, output, junit string) error {
	if junit != "" {
		f, err := os.Create(junit)
		if err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
		if err := smoke.WriteJUnit(f, "kubectl-smoke", checks); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if output != "" {
		return printers.Data(c.Out, output, checks)
	}
	rows := make([][]string, 0, len(checks))
	for _, ch := range checks {
		// A message of several lines (one per failing item) keeps the table's
		// columns: its first line in the row, the fix after it, the others below.
		lines := strings.Split(ch.Message, "\n")
		if ch.Fix != "" && ch.Status != smoke.Pass {
			lines[0] += " (fix: " + ch.Fix + ")"
		}
		rows = append(rows, []string{ch.Name, ch.Status, lines[0]})
		for _, l := range lines[1:] {
			rows = append(rows, []string{"", "", "  " + l})
		}
	}
	return printers.Table(c.Out, []string{"CHECK", "STATUS", "MESSAGE"}, rows)
}
