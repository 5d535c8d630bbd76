package profile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
)

// SecretsOptions prints the environment's secret contract.
type SecretsOptions struct {
	*common
	Profile string
	All     bool
	Output  string
}

func newCmdSecrets(c *common) *cobra.Command {
	o := &SecretsOptions{common: c}
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Show the secret store keys the environment reads, and the commands that create them",
		Long: `Shows the environment's secret contract, from the tree alone (no cluster), as Argo CD
would deploy it with the config applied: every key its ExternalSecrets read from the
secret store, whether it is read whole (a plain value) or by JSON property, which
Secrets it fills and which workloads read those, and the Secrets made by hand
(seededSecrets). Only the enabled groups are read, of one profile with --profile, of
every group of the catalog with --all.

The shape of each key is what the reads ask for, and what platform.yaml documents
under remoteSecrets (a description and a hint for how to make the value). A key read
whole by one ExternalSecret and by property by another has shape "conflict": no value
satisfies both, and profile lint fails on it.

-o script prints a bash script for the store's backend (GCP Secret Manager, AWS
Secrets Manager) that creates the keys the store does not hold yet and checks that
the JSON keys it holds have every property the tree reads. Values are never in the
script: it asks for each on the terminal, or reads one line of stdin per prompt.`,
		Example: `  kubectl profile secrets --env ai-dev
  kubectl profile secrets --env ai-dev --profile serving -o wide
  kubectl profile secrets --env ai-dev -o json

  # Create what the store lacks (asks for each value)
  kubectl profile secrets --env ai-dev -o script > seed-secrets.sh
  bash seed-secrets.sh`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVar(&o.Profile, "profile", "", "Read only the enabled groups of this profile's layers (default: every layer)")
	cmd.Flags().BoolVar(&o.All, "all", false, "Read every group of the catalog, enabled or not")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml, wide or script")
	return cmd
}

// Validate checks the flags.
func (o *SecretsOptions) Validate() error {
	if err := printers.ValidateFormat(o.Output, "json", "yaml", "wide", "script"); err != nil {
		return err
	}
	if o.All && o.Profile != "" {
		return fmt.Errorf("--all reads every group and --profile %s only the enabled groups of one profile: pass one of them", o.Profile)
	}
	return nil
}

// Run computes the contract and prints it.
func (o *SecretsOptions) Run() error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	var p *platform.Profile
	if o.Profile != "" {
		found, err := env.Profile(o.Profile)
		if err != nil {
			return err
		}
		p = &found
	}
	c := env.SecretContract(p, o.All)
	switch o.Output {
	case "json", "yaml":
		return printers.Data(o.Out, o.Output, c)
	case "script":
		return profile.WriteSecretsScript(o.Out, c, o.scriptCommand(env))
	}
	// One row per Secret a key fills, the key and its shape on the first:
	// 120 columns hold the table (-o wide adds the apps and readers).
	wide := o.Output == "wide"
	header := []string{"REMOTE KEY", "SHAPE", "SECRET"}
	if wide {
		header = append(header, "APPS", "READ BY")
	}
	var rows [][]string
	for _, rs := range c.Remote {
		var secrets []string
		apps, readers := map[string][]string{}, map[string][]string{}
		for _, r := range rs.Readers {
			secret, _, _ := strings.Cut(r.Secret, ":")
			if !slices.Contains(secrets, secret) {
				secrets = append(secrets, secret)
			}
			if !slices.Contains(apps[secret], r.App) {
				apps[secret] = append(apps[secret], r.App)
			}
			for _, w := range r.Workloads {
				if !slices.Contains(readers[secret], w) {
					readers[secret] = append(readers[secret], w)
				}
			}
		}
		for i, secret := range secrets {
			row := []string{"", "", secret}
			if i == 0 {
				row[0], row[1] = rs.Key, shapeColumn(rs)
			}
			if wide {
				row = append(row, strings.Join(apps[secret], ","), printers.Dash(strings.Join(readers[secret], ",")))
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		fmt.Fprintf(o.ErrOut, "environment %s: no ExternalSecret reads a secret store\n", env.Name)
	} else if err := printers.Table(o.Out, header, rows); err != nil {
		return err
	}
	for _, s := range c.Stores {
		backend := s.Provider + s.Where()
		if s.Provider == "" {
			backend = "not rendered by the tree"
		}
		fmt.Fprintf(o.ErrOut, "store %s: %s\n", s.Ref(), backend)
	}
	for _, s := range c.Seeded { // why: in platform.yaml and -o json
		fmt.Fprintf(o.ErrOut, "made by hand, not in the store: %s/%s (seededSecrets)\n", s.Namespace, s.Name)
	}
	if len(rows) > 0 {
		fmt.Fprintf(o.ErrOut, "create what the store lacks: %s -o script > seed-secrets.sh && bash seed-secrets.sh\n", o.scriptCommand(env))
	}
	return nil
}

// scriptCommand is the command that writes this contract's script.
func (o *SecretsOptions) scriptCommand(env *platform.Env) string {
	cmd := o.Cmd("profile") + " secrets --env " + env.Name
	if o.Profile != "" {
		cmd += " --profile " + o.Profile
	}
	if o.All {
		cmd += " --all"
	}
	return cmd
}

func shapeColumn(rs platform.RemoteSecret) string {
	switch rs.Shape {
	case platform.ShapeJSON:
		if len(rs.Properties) == 0 {
			return "json (all)"
		}
		return "json: " + strings.Join(rs.Properties, ",")
	case platform.ShapeConflict:
		return "CONFLICT: whole and " + strings.Join(rs.Properties, ",")
	}
	return "plain"
}
