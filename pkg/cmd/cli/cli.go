// Package cli holds what the three plugins share on the command line: the root
// command's kubectl habits, exit codes, and the version verb.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
)

// ExitError ends a command with a specific exit code. A nil Err exits quietly:
// `diff` uses it to say "there are differences" with exit 1 and no error line.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// NewRoot returns a plugin's root command with the settings all three share.
// name is the binary (kubectl-profile); kubectl shows it as "kubectl profile".
func NewRoot(name, short, long, example string) *cobra.Command {
	display := "kubectl " + name[len("kubectl-"):]
	root := &cobra.Command{
		Use:           name,
		Short:         short,
		Long:          long,
		Example:       example,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: display},
		// A bare `kubectl profile` prints help and succeeds, like kubectl itself.
		Run: func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	// -v like kubectl: -v=6 logs every API request the plugin makes.
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	root.PersistentFlags().AddGoFlag(klogFlags.Lookup("v"))
	if f := root.PersistentFlags().Lookup("v"); f != nil {
		f.Shorthand = "v"
		f.Usage = "Log level: 6 logs every API request"
	}
	return root
}

// Main runs a plugin's root command and returns the process exit code: 0 only on
// success, the code of an ExitError, 1 for any other error (printed once, kubectl style).
func Main(newRoot func(genericiooptions.IOStreams) *cobra.Command) int {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	return Execute(newRoot(streams), streams, os.Args[1:])
}

// Execute is Main with its inputs passed in, for tests.
func Execute(root *cobra.Command, streams genericiooptions.IOStreams, args []string) int {
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(streams.ErrOut, "error: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
	return 1
}
