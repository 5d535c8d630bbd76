package smoke

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke"
)

// RunOptions is the smoke gate: doctor, then the chat probe of each model the
// profile serves.
type RunOptions struct {
	*common
	Profile string
	Output  string
	JUnit   string
	Timeout time.Duration
}

func newCmdRun(c *common) *cobra.Command {
	o := &RunOptions{common: c}
	cmd := &cobra.Command{
		Use:   "run --profile PROFILE",
		Short: "doctor, then (for profiles that serve a model) chat: the smoke gate of a staged bring-up",
		Example: `  kubectl smoke run --profile serving --env ai-dev
  kubectl smoke run --profile full --env ai-dev --junit smoke.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Profile == "" {
				return fmt.Errorf("run needs --profile (see %s list)", o.Cmd("profile"))
			}
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout %s: must be positive", o.Timeout)
			}
			if err := printers.ValidateFormat(o.Output, "json", "yaml"); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.Profile, "profile", "", "Profile to check")
	_ = cmd.RegisterFlagCompletionFunc("profile", c.EnvFlags.CompleteFlag(cli.ProfileNames))
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	cmd.Flags().StringVar(&o.JUnit, "junit", "", "Also write the results as a JUnit XML file")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", smoke.DefaultChatTimeout, "How long each chat probe may take")
	return cmd
}

// Run runs doctor and the chat probes, reporting them as one list of checks.
func (o *RunOptions) Run(ctx context.Context) error {
	env, err := o.Env()
	if err != nil {
		return err
	}
	p, err := env.Profile(o.Profile)
	if err != nil {
		return err
	}
	checks, err := runDoctor(ctx, o.common, env, o.Profile)
	if err != nil {
		return err
	}
	doctorFailed := summary(checks) > 0
	for _, a := range env.Apps {
		if a.Chat == nil || !slices.Contains(p.Layers, a.Layer) {
			continue
		}
		name := "chat-" + a.Name
		if doctorFailed {
			checks = append(checks, smoke.Check{Name: name, Status: smoke.Skip, Message: "doctor failed: fix that first"})
			continue
		}
		start := o.Now()
		probe := smoke.NewChat()
		probe.Env, probe.App, probe.Timeout = env, a.Name, o.Timeout
		probe.Client, probe.Getenv, probe.Forward = o.Client, o.Getenv, o.Forward
		rep, err := probe.Run(ctx)
		c := smoke.Check{Name: name, Duration: o.Now().Sub(start)}
		switch {
		case err != nil:
			c.Status, c.Message = smoke.Fail, err.Error()
		default:
			c.Status, c.Message = rep.Status, rep.Message
			switch {
			case rep.Status == smoke.Pass:
			case rep.HTTPStatus == http.StatusUnauthorized || rep.HTTPStatus == http.StatusForbidden:
				// The server is up: scaling it again would not help.
				c.Fix = fmt.Sprintf("the key in Secret %s is not the one %s expects", a.Chat.KeySecret, a.Name)
			default:
				c.Fix = fmt.Sprintf("%s up %s, then %s chat %s", o.Cmd("costgate"), a.Name, o.Display(), a.Name)
			}
		}
		checks = append(checks, c)
	}
	if err := report(o.common, checks, o.Output, o.JUnit); err != nil {
		return err
	}
	if n := summary(checks); n > 0 {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("smoke: %d check(s) failed", n)}
	}
	return nil
}
