package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/rest/resttest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
)

func TestInvokedAsPicksTheHostFromArgv0(t *testing.T) {
	for argv0, want := range map[string]string{
		"/usr/local/bin/kubectl-costgate":   "kubectl-costgate",
		"/home/u/.krew/bin/argocd-costgate": "argocd-costgate",
		`C:\bin\argocd-costgate.exe`:        "kubectl-costgate", // not this OS's separator: the canonical name
		"argocd-costgate.exe":               "argocd-costgate",
		"./costgate":                        "kubectl-costgate",
		"argocd-profile":                    "kubectl-costgate", // another plugin's name is not ours
	} {
		if got := cli.InvokedAs(argv0, "kubectl-costgate"); got != want {
			t.Errorf("InvokedAs(%q) = %q, want %q", argv0, got, want)
		}
	}
}

// runAs runs a plugin under argocd's name with an environment.
func runAs(name string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	f := cli.NewFactory("argocd-"+name, streams)
	f.Getenv = func(k string) string { return env[k] }
	code = cli.Execute(context.Background(), plugins[name](f), streams, args)
	return code, out.String(), errOut.String()
}

// Under argocd: argocd's usage and flags (--server is Argo CD's; kubectl's is
// --kube-server), and no kubectl name left in the help.
func TestArgoCDHelpSpeaksArgoCD(t *testing.T) {
	for name := range plugins {
		t.Run(name, func(t *testing.T) {
			code, out, _ := runAs(name, nil, "--help")
			if code != 0 {
				t.Fatalf("--help exit %d", code)
			}
			for _, want := range []string{"argocd " + name + " [command]", "\n  argocd " + name + " ", "--server string", "Argo CD server address",
				"--kube-server string", "--auth-token", "--grpc-web", "--grpc-web-root-path", "--plaintext", "--core", "--argocd-context", "--kubeconfig"} {
				if !strings.Contains(out, want) {
					t.Errorf("--help lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "kubectl "+name) {
				t.Errorf("--help still says kubectl %s:\n%s", name, out)
			}
		})
	}
}

// A verb that needs the Kubernetes API is refused in server mode before it
// runs, naming --core; offline verbs and --core run.
func TestArgoCDServerModeRefusesKubernetesOnlyVerbs(t *testing.T) {
	code, _, errOut := runAs("profile", nil, "apply", "serving", "--env", "sandbox", "--dir", "../../../clusters")
	if code != 1 || errOut != "error: `argocd profile apply` does not work through the Argo CD API yet: add --core to run it against the Kubernetes API "+
		"(it then needs Kubernetes credentials: --kubeconfig, --context, --kube-server)\n" {
		t.Errorf("apply: exit %d: %s", code, errOut)
	}
	if code, out, errOut := runAs("costgate", nil, "lint", "--env", "sandbox", "--dir", "../../../clusters"); code != 0 || !strings.Contains(out, "no findings") {
		t.Errorf("lint (offline) under argocd: exit %d: %s%s", code, out, errOut)
	}
	code, _, errOut = runAs("profile", nil, "apply", "serving", "--core", "--env", "sandbox", "--dir", "../../../clusters", "--kubeconfig", "/nonexistent")
	if code != 1 || strings.Contains(errOut, "does not work through the Argo CD API") {
		t.Errorf("apply --core goes to the Kubernetes API: exit %d: %s", code, errOut)
	}
}

// ARGOCD_OPTS adds the flags the plugin knows and the command line does not
// set; argocd's own flags there are not the plugin's to parse. Against a
// plain-HTTP fake Argo CD, status succeeds only with --plaintext (from
// ARGOCD_OPTS) and the command line's --server (over ARGOCD_OPTS' one).
func TestArgoCDOptsFillWhatTheCommandLineLeaves(t *testing.T) {
	fake := resttest.New(t)
	status := func(opts string, args ...string) (int, string) {
		env := map[string]string{"ARGOCD_AUTH_TOKEN": resttest.Token, "ARGOCD_OPTS": opts}
		code, _, errOut := runAs("profile", env, append([]string{"status", "--env", "sandbox", "--dir", "../../../clusters"}, args...)...)
		return code, errOut
	}
	if code, errOut := status("--loglevel debug --plaintext --server " + fake.Host()); code != 0 {
		t.Errorf("server and --plaintext from ARGOCD_OPTS: exit %d: %s", code, errOut)
	}
	if code, errOut := status("--plaintext --server 127.0.0.1:1", "--server", fake.Host()); code != 0 {
		t.Errorf("the command line's --server over ARGOCD_OPTS': exit %d: %s", code, errOut)
	}
	if code, errOut := status("--server " + fake.Host()); code != 1 || !strings.Contains(errOut, "cannot reach the Argo CD server") {
		t.Errorf("without --plaintext the fake is not reachable over TLS: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runAs("costgate", map[string]string{"ARGOCD_OPTS": "--definitely-not-a-flag"}, "lint", "--env", "sandbox", "--dir", "../../../clusters"); code != 0 {
		t.Errorf("an unknown ARGOCD_OPTS flag broke the plugin: exit %d: %s", code, errOut)
	}
}

// Errors say argocd <name> where they would say kubectl <name>.
func TestArgoCDErrorsNameArgoCD(t *testing.T) {
	code, _, errOut := runAs("costgate", nil, "up", "nope", "--core", "--env", "sandbox", "--dir", "../../../clusters")
	if code != 1 || !strings.Contains(errOut, `unknown app "nope"`) || strings.Contains(errOut, "kubectl costgate") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	code, _, errOut = runAs("profile", nil, "apply", "--core", "--env", "sandbox", "--dir", "../../../clusters")
	if code != 1 || !strings.Contains(errOut, "argocd profile list") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

// --request-timeout reads as client-go reads it: a duration, or seconds.
func TestRequestTimeoutReadsAsClientGo(t *testing.T) {
	f := cli.NewFactory("kubectl-costgate", genericiooptions.IOStreams{})
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "5": 5 * time.Second, "1m30s": 90 * time.Second} {
		*f.KubeFlags.Timeout = in
		if got, err := f.RequestTimeout(); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	*f.KubeFlags.Timeout = "soon"
	if _, err := f.RequestTimeout(); err == nil || !strings.Contains(err.Error(), `--request-timeout "soon"`) {
		t.Errorf("bad value: %v", err)
	}
}
