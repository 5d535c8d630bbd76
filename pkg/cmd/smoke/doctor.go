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
	Fleet   cli.FleetFlags
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
  kubectl smoke doctor --profile full --env ai-dev --junit doctor.xml

  # Every environment under clusters/, each on its own cluster
  kubectl smoke doctor --all-envs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			if err := o.Fleet.Validate(o.Factory, cmd); err != nil {
				return err
			}
			if o.Fleet.AllEnvs {
				if o.JUnit != "" {
					return fmt.Errorf("--junit writes one environment's checks: run doctor --env ENV --junit FILE per environment")
				}
				return o.RunFleet(cmd.Context())
			}
			return o.Run(cmd.Context())
		},
	}
	o.Fleet.AddFlags(cmd.Flags())
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

// EnvChecks is one environment's checks in a fleet view.
type EnvChecks struct {
	Env     string        `json:"env"`
	Context string        `json:"context,omitempty"`
	Checks  []smoke.Check `json:"checks"`
	Error   string        `json:"error,omitempty"`
}

// RunFleet checks every environment under --dir, each on its own cluster,
// concurrently: one line per environment (how many checks passed, warned,
// failed), then every check that did not pass, led by its environment. An
// environment that cannot be reached is a line that says why; exit 1 when
// any check failed or any environment could not be checked.
func (o *DoctorOptions) RunFleet(ctx context.Context) error {
	results, err := cli.Fleet(ctx, o.Factory, o.Fleet, func(ctx context.Context, g *cli.Factory) ([]smoke.Check, error) {
		c := &common{Factory: g}
		env, err := c.Env()
		if err != nil {
			return nil, err
		}
		return runDoctor(ctx, c, env, o.Profile)
	})
	if err != nil {
		return err
	}
	var envs []EnvChecks
	var summaryRows, problems [][]string
	var bad []string
	for _, r := range results {
		e := EnvChecks{Env: r.Env, Context: r.Context, Checks: r.Value}
		if r.Err != nil {
			e.Error, e.Checks = r.Err.Error(), []smoke.Check{}
			bad = append(bad, r.Env)
			summaryRows = append(summaryRows, []string{r.Env, printers.Dash(r.Context), "?", "?", "?", e.Error})
			envs = append(envs, e)
			continue
		}
		count := map[string]int{}
		for _, ch := range r.Value {
			count[ch.Status]++
			if ch.Status == smoke.Warn || ch.Status == smoke.Fail {
				msg := strings.ReplaceAll(ch.Message, "\n", "; ")
				if ch.Fix != "" && ch.Status == smoke.Fail {
					msg += " (fix: " + ch.Fix + ")"
				}
				problems = append(problems, []string{r.Env, ch.Name, ch.Status, msg})
			}
		}
		status := "ok"
		if count[smoke.Fail] > 0 {
			status = "failing"
			bad = append(bad, r.Env)
		}
		summaryRows = append(summaryRows, []string{r.Env, printers.Dash(r.Context), fmt.Sprint(count[smoke.Pass]), fmt.Sprint(count[smoke.Warn]), fmt.Sprint(count[smoke.Fail]), status})
		envs = append(envs, e)
	}
	if o.Output != "" {
		if err := printers.Data(o.Out, o.Output, envs); err != nil {
			return err
		}
	} else {
		if err := printers.Table(o.Out, []string{"ENV", "CONTEXT", "PASS", "WARN", "FAIL", "STATUS"}, summaryRows); err != nil {
			return err
		}
		if len(problems) > 0 {
			fmt.Fprintln(o.Out)
			if err := printers.Table(o.Out, []string{"ENV", "CHECK", "STATUS", "MESSAGE"}, problems); err != nil {
				return err
			}
		}
	}
	if err := cli.FleetError("failing or not checked", bad, len(results)); err != nil {
		return &cli.ExitError{Code: 1, Err: err}
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
