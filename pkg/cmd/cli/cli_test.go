package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/version"
)

var plugins = map[string]func(*cli.Factory) *cobra.Command{
	"profile":  profile.NewCmd,
	"costgate": costgate.NewCmd,
	"smoke":    smoke.NewCmd,
}

func run(name string, args ...string) (code int, stdout, stderr string) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code = cli.Execute(context.Background(), plugins[name](cli.NewFactory("kubectl-"+name, streams)), streams, args)
	return code, out.String(), errOut.String()
}

func TestHelpShowsKubectlNameExamplesAndConfigFlags(t *testing.T) {
	for name := range plugins {
		t.Run(name, func(t *testing.T) {
			code, out, _ := run(name, "--help")
			if code != 0 {
				t.Fatalf("--help exit %d", code)
			}
			for _, want := range []string{"kubectl " + name + " [command]", "Examples:", "\n  kubectl " + name + " ", "--kubeconfig", "--context", "--namespace", "-v, --v"} {
				if !strings.Contains(out, want) {
					t.Errorf("--help lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestVersionIsStampedAndMachineReadable(t *testing.T) {
	old := version.Version
	version.Version = "v9.9.9"
	t.Cleanup(func() { version.Version = old })
	for name := range plugins {
		t.Run(name, func(t *testing.T) {
			code, out, _ := run(name, "version", "-o", "json")
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			var info version.Info
			if err := json.Unmarshal([]byte(out), &info); err != nil {
				t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
			}
			if info.Plugin != "kubectl-"+name || info.Version != "v9.9.9" {
				t.Errorf("got %+v", info)
			}
			code, out, _ = run(name, "version")
			if code != 0 || !strings.HasPrefix(out, "kubectl-"+name+" v9.9.9 (commit ") {
				t.Errorf("one-line version: exit %d, %q", code, out)
			}
		})
	}
}

func TestBadInputExitsNonZeroWithOneErrorLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"version", "-o", "xml"}, `error: --output "xml" is not supported: use json or yaml`},
		{[]string{"--no-such-flag"}, "error: unknown flag: --no-such-flag"},
		{[]string{"version", "extra"}, `error: unknown command "extra"`},
	} {
		code, out, errOut := run("profile", tc.args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1", tc.args, code)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout: %q", tc.args, out)
		}
		if !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "error:") != 1 {
			t.Errorf("%v: stderr %q, want one line starting %q", tc.args, errOut, tc.want)
		}
	}
}

func TestExitErrorCarriesItsCode(t *testing.T) {
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	root := cli.NewFactory("kubectl-x", streams).NewRoot("x", "x", "x")
	root.AddCommand(&cobra.Command{Use: "differs", RunE: func(*cobra.Command, []string) error {
		return &cli.ExitError{Code: 1}
	}})
	root.AddCommand(&cobra.Command{Use: "broken", RunE: func(*cobra.Command, []string) error {
		return &cli.ExitError{Code: 3, Err: errors.New("went wrong")}
	}})
	if code := cli.Execute(context.Background(), root, streams, []string{"differs"}); code != 1 || errOut.Len() != 0 {
		t.Errorf("quiet exit: code %d, stderr %q", code, errOut.String())
	}
	var buf bytes.Buffer
	streams.ErrOut = &buf
	if code := cli.Execute(context.Background(), root, streams, []string{"broken"}); code != 3 || buf.String() != "error: went wrong\n" {
		t.Errorf("exit with error: code %d, stderr %q", code, buf.String())
	}
}

func TestInterruptedCommandExits130AndSaysSo(t *testing.T) {
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	root := cli.NewFactory("kubectl-x", streams).NewRoot("x", "x", "x")
	ctx, cancel := context.WithCancelCause(context.Background())
	root.AddCommand(&cobra.Command{Use: "waits", RunE: func(cmd *cobra.Command, _ []string) error {
		cancel(cli.ErrInterrupted)
		return fmt.Errorf("waited 0 of 3 apps: %w", testwait.Done(cmd.Context(), "the command's context"))
	}})
	if code := cli.Execute(ctx, root, streams, []string{"waits"}); code != cli.ExitInterrupted {
		t.Errorf("exit %d, want %d", code, cli.ExitInterrupted)
	}
	if got, want := errOut.String(), "error: interrupted: waited 0 of 3 apps: context canceled\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}
