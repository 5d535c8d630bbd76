package profile

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// fakeGcloud is Secret Manager for the script: a folder of files, one per
// secret (NAME) and its latest version (NAME.v); every call is logged with its
// arguments, so a test can prove no value was ever an argument.
const fakeGcloud = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$STORE/calls"
[[ $* == *"--project $WANT_PROJECT"* ]] || { echo "wrong project: $*" >&2; exit 2; }
case "$1 $2 $3" in
"secrets describe "*) [[ -e "$STORE/$3" ]] ;;
"secrets create "*) [[ ! -e "$STORE/$3" ]] || { echo "already exists" >&2; exit 1; }; touch "$STORE/$3"; cat > "$STORE/$3.v" ;;
"secrets versions list") [[ ! -s "$STORE/$4.v" ]] || echo 1 ;;
"secrets versions add") [[ -e "$STORE/$4" ]]; cat > "$STORE/$4.v" ;;
"secrets versions access") cat "$STORE/$6.v" ;;
*) echo "unexpected: $*" >&2; exit 2 ;;
esac
`

func scriptContract() platform.SecretContract {
	reader := func(secret, read, property string) platform.SecretReader {
		return platform.SecretReader{App: "app", Secret: secret, Read: read, Property: property}
	}
	store := "ClusterSecretStore/secret-store"
	return platform.SecretContract{
		Env:    "ai-dev",
		Stores: []platform.SecretStore{{Kind: "ClusterSecretStore", Name: "secret-store", Provider: "gcpsm", Project: "p1"}},
		Remote: []platform.RemoteSecret{
			{Key: "aidev-present", Store: store, Shape: platform.ShapePlain, Readers: []platform.SecretReader{reader("a/s:k", platform.ReadWhole, "")}},
			{Key: "aidev-incomplete", Store: store, Shape: platform.ShapeJSON, Properties: []string{"x", "y"},
				Readers: []platform.SecretReader{reader("a/s:x", platform.ReadProperty, "x"), reader("a/s:y", platform.ReadProperty, "y")}},
			{Key: "aidev-plain", Store: store, Shape: platform.ShapePlain, Hint: "openssl rand -hex 32", Readers: []platform.SecretReader{reader("a/p:k", platform.ReadWhole, "")}},
			{Key: "aidev-json", Store: store, Shape: platform.ShapeJSON, Properties: []string{"client-secret", "cookie-secret"},
				Readers: []platform.SecretReader{reader("b/j:client-secret", platform.ReadProperty, "client-secret")}},
			{Key: "aidev-empty", Store: store, Shape: platform.ShapePlain, Readers: []platform.SecretReader{reader("c/e:k", platform.ReadWhole, "")}},
			{Key: "aidev-conflict", Store: store, Shape: platform.ShapeConflict, Properties: []string{"z"},
				Readers: []platform.SecretReader{reader("d/c:k", platform.ReadWhole, ""), reader("d/c2:z", platform.ReadProperty, "z")}},
		},
		Seeded: []platform.SeededSecret{{Namespace: "external-secrets", Name: "gcpsm-sa-key", Reason: "the store's own key"}},
	}
}

// The script creates exactly what the store lacks, with the values read from
// stdin in prompt order (never as arguments, never printed), checks the JSON
// keys it holds, skips a key no value can satisfy, and exits 1 when anything
// needs a person; run again, it writes nothing.
func TestSecretsScriptCreatesOnlyWhatTheStoreLacks(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("the script needs jq: apt-get install jq (make test-deps)")
	}
	dir := t.TempDir()
	bin, store := filepath.Join(dir, "bin"), filepath.Join(dir, "store")
	for _, d := range []string{bin, store} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "gcloud"), fakeGcloud, 0o755)
	write(filepath.Join(store, "aidev-present"), "", 0o644)
	write(filepath.Join(store, "aidev-present.v"), "kept", 0o644)
	write(filepath.Join(store, "aidev-incomplete"), "", 0o644)
	write(filepath.Join(store, "aidev-incomplete.v"), `{"x":"1"}`, 0o644)
	write(filepath.Join(store, "aidev-empty"), "", 0o644)

	var script bytes.Buffer
	if err := WriteSecretsScript(&script, scriptContract(), "kubectl profile secrets --env ai-dev"); err != nil {
		t.Fatal(err)
	}
	scriptFile := filepath.Join(dir, "seed.sh")
	write(scriptFile, script.String(), 0o644)

	values := []string{`plain it's "$HOME"`, "cs-1", "ck 2", "emptied"}
	run := func(stdin string) (string, int) {
		cmd := exec.Command("bash", scriptFile)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "STORE="+store, "WANT_PROJECT=p1")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run(strings.Join(values, "\n") + "\n")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a key lacks a property, a key is a conflict)\n%s", code, out)
	}
	read := func(name string) string {
		data, _ := os.ReadFile(filepath.Join(store, name+".v"))
		return string(data)
	}
	for name, want := range map[string]string{
		"aidev-present":    "kept",
		"aidev-incomplete": `{"x":"1"}`,
		"aidev-plain":      values[0],
		"aidev-json":       `{"client-secret":"cs-1","cookie-secret":"ck 2"}`,
		"aidev-empty":      "emptied",
		"aidev-conflict":   "",
	} {
		if got := read(name); got != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}
	for _, want := range []string{"WARN: aidev-incomplete exists but lacks y", "SKIP: aidev-conflict", "created: aidev-plain (project p1)", "created: aidev-empty"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	calls, _ := os.ReadFile(filepath.Join(store, "calls"))
	for _, v := range values {
		if strings.Contains(out, v) || strings.Contains(string(calls), v) {
			t.Errorf("value %q reached the output or an argument:\n%s\n%s", v, out, calls)
		}
	}

	before := string(calls)
	out, code = run("")
	calls, _ = os.ReadFile(filepath.Join(store, "calls"))
	if code != 1 || strings.Contains(out, "created:") {
		t.Errorf("second run: exit %d, want 1 and nothing created:\n%s", code, out)
	}
	for _, line := range strings.Split(strings.TrimPrefix(string(calls), before), "\n") {
		if strings.HasPrefix(line, "secrets create") || strings.HasPrefix(line, "secrets versions add") {
			t.Errorf("second run wrote: %s", line)
		}
	}

	// A value missing on stdin stops the script before it writes that key.
	if err := os.Remove(filepath.Join(store, "aidev-plain")); err != nil {
		t.Fatal(err)
	}
	out, code = run("")
	if code != 1 || !strings.Contains(out, "no value for aidev-plain") {
		t.Errorf("no value: exit %d, want 1 naming the key:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(store, "aidev-plain")); err == nil {
		t.Error("aidev-plain was created without a value")
	}
}

// Stores the script cannot write for are refused, naming the store.
func TestSecretsScriptRefusesUnknownStores(t *testing.T) {
	for provider, want := range map[string]string{
		"vault": "ClusterSecretStore/secret-store (vault): -o script writes commands for aws and gcpsm only",
		"":      "ClusterSecretStore/secret-store: the tree renders no such store",
	} {
		c := scriptContract()
		c.Stores[0].Provider = provider
		err := WriteSecretsScript(&bytes.Buffer{}, c, "x")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("provider %q: %v, want %q", provider, err, want)
		}
	}
}
