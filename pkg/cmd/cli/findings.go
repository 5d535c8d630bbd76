package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// LintCheck is what one lint verb checks: the findings for an environment,
// what was checked ("12 gates") and what its errors are called ("gate").
type LintCheck func(env *platform.Env) (findings []platform.Finding, subject, kind string)

// NewCmdLint is a lint verb: offline, -o json|yaml, --strict, the exit status
// of Lint.Report. Both plugins' lint verbs are this command with their check.
func (f *Factory) NewCmdLint(short, long, example, strictHelp string, check LintCheck) *cobra.Command {
	var output string
	var strict bool
	cmd := &cobra.Command{
		Use: "lint", Short: short, Long: long, Example: example,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := printers.ValidateFormat(output, "json", "yaml"); err != nil {
				return err
			}
			env, err := f.Env()
			if err != nil {
				return err
			}
			findings, subject, kind := check(env)
			return Lint{Env: env.Name, Output: output, Strict: strict, Subject: subject, Kind: kind}.Report(f.Out, findings)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format: json or yaml")
	cmd.Flags().BoolVar(&strict, "strict", false, strictHelp)
	return Modes(cmd, ModeOffline)
}

// Lint is what the lint verbs share: the findings of one environment, printed
// as text (each finding, then a summary) or as data (-o json|yaml), and the exit
// status: 1 on any error, on warnings too when Strict.
type Lint struct {
	Env    string
	Output string
	Strict bool
	// Subject is what was checked, for the summary ("12 gates", "56 apps");
	// Kind names the errors ("gate", "tree").
	Subject, Kind string
}

// Report prints the findings and returns the command's error.
func (l Lint) Report(out io.Writer, findings []platform.Finding) error {
	if l.Output != "" {
		if findings == nil {
			findings = []platform.Finding{}
		}
		if err := printers.Data(out, l.Output, findings); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(out, f)
		}
	}
	errors, warnings := 0, 0
	for _, f := range findings {
		if f.Severity == platform.Error {
			errors++
		} else {
			warnings++
		}
	}
	switch {
	case errors > 0 && warnings > 0:
		return &ExitError{Code: 1, Err: fmt.Errorf("%d %s error(s) and %d warning(s) in environment %s", errors, l.Kind, warnings, l.Env)}
	case errors > 0:
		return &ExitError{Code: 1, Err: fmt.Errorf("%d %s error(s) in environment %s", errors, l.Kind, l.Env)}
	case warnings > 0 && l.Strict:
		return &ExitError{Code: 1, Err: fmt.Errorf("%d warning(s) in environment %s (--strict)", warnings, l.Env)}
	}
	if l.Output == "" {
		if warnings > 0 {
			fmt.Fprintf(out, "%s: %s, no errors, %d warning(s)\n", l.Env, l.Subject, warnings)
		} else {
			fmt.Fprintf(out, "%s: %s, no findings\n", l.Env, l.Subject)
		}
	}
	return nil
}
