package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

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

// NewRoot returns a plugin's root command with the settings all three share:
// kubectl's flags, --env/--dir, -v, and the version verb. kubectl shows the
// binary kubectl-profile as "kubectl profile".
func (f *Factory) NewRoot(short, long, example string) *cobra.Command {
	name, display := f.Plugin, f.Display()
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
		// Under argocd, a verb that needs the Kubernetes API is refused in
		// server mode before it runs.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			f.writing = cmd.Annotations[WritesAnnotation] != ""
			return f.checkMode(cmd)
		},
	}
	if f.Host() == HostArgoCD {
		root.Annotations[argocdOptsAnnotation] = f.Getenv("ARGOCD_OPTS")
	}
	// -v like kubectl: -v=6 logs every API request the plugin makes.
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	root.PersistentFlags().AddGoFlag(klogFlags.Lookup("v"))
	if v := root.PersistentFlags().Lookup("v"); v != nil {
		v.Shorthand = "v"
		v.Usage = "Log level: 6 logs every API request"
	}
	f.AddFlags(root)
	root.AddCommand(Modes(NewCmdVersion(f.Plugin, f.IOStreams), ModeOffline))
	return root
}

// argocdOptsAnnotation carries ARGOCD_OPTS from the factory to Execute.
const argocdOptsAnnotation = "aidev.io/argocd-opts"

// ErrInterrupted is the cause of a command's context when the user pressed
// Ctrl-C (SIGINT) or the process got SIGTERM.
var ErrInterrupted = errors.New("interrupted")

// InterruptGrace is how long a verb has, after the first SIGINT/SIGTERM, to
// stop and say what it had done before the process ends regardless.
const InterruptGrace = 1500 * time.Millisecond

// ExitInterrupted is the exit code of an interrupted command, as shells use for SIGINT.
const ExitInterrupted = 130

// Main runs a plugin's root command and returns the process exit code: 0 only on
// success, the code of an ExitError, 130 when interrupted, 1 for any other error
// (printed once, kubectl style). The command's context is cancelled on the first
// SIGINT/SIGTERM, so waits and writes stop and say what they had done; a second
// signal exits at once.
func Main(plugin string, newRoot func(*Factory) *cobra.Command) int {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	ctx, stop := signalContext(streams)
	defer stop()
	return Execute(ctx, newRoot(NewFactory(InvokedAs(os.Args[0], plugin), streams)), streams, os.Args[1:])
}

// signalContext is cancelled with ErrInterrupted on the first signal; the
// second ends the process.
func signalContext(streams genericiooptions.IOStreams) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel(ErrInterrupted)
		case <-done:
			return
		}
		// Every verb ends on its context; a call that does not (a library
		// dialling with no deadline of ours) must not keep the user waiting.
		grace := time.NewTimer(InterruptGrace)
		defer grace.Stop()
		select {
		case <-sigs:
			fmt.Fprintln(streams.ErrOut, "error: interrupted twice: exiting now")
			os.Exit(ExitInterrupted)
		case <-grace.C:
			fmt.Fprintf(streams.ErrOut, "error: interrupted: a request was still unanswered %s after the signal: exiting now (a write already sent may still land; run the same command again to see where it stands)\n", InterruptGrace)
			os.Exit(ExitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() { signal.Stop(sigs); close(done); cancel(nil) }
}

// Interrupted says whether ctx ended because the user interrupted the command.
func Interrupted(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrInterrupted) }

// Execute runs root with args under ctx and returns the exit code; Main with its
// inputs passed in, for tests.
func Execute(ctx context.Context, root *cobra.Command, streams genericiooptions.IOStreams, args []string) int {
	if strings.HasPrefix(root.Annotations[cobra.CommandDisplayNameAnnotation], HostArgoCD+" ") {
		forArgoCD(root)
		args = append(args, argocdOpts(root, root.Annotations[argocdOptsAnnotation], args)...)
	}
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if Interrupted(ctx) {
		msg := err.Error()
		if !strings.Contains(msg, "interrupted") {
			msg = "interrupted: " + msg
		}
		fmt.Fprintf(streams.ErrOut, "error: %s\n", msg)
		return ExitInterrupted
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
