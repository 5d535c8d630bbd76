package profile

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// backend is how a script talks to one kind of secret store.
type backend struct {
	// prelude sets the store's variables and defines need, put and props:
	// need KEY says whether KEY must be written (and sets state), put KEY
	// writes stdin as KEY's value, props KEY prints KEY's current value.
	prelude func(s platform.SecretStore) string
}

// backends are the stores -o script writes commands for, by provider.
var backends = map[string]backend{
	"gcpsm": {prelude: func(s platform.SecretStore) string {
		project := "${PROJECT:?set PROJECT to the GCP project of Secret Manager: the store names none}"
		if s.Project != "" {
			project = "${PROJECT:-" + s.Project + "}"
		}
		return `project=` + project + `
need() {
  if ! gcloud secrets describe "$1" --project "$project" --format 'value(name)' >/dev/null 2>&1; then state=missing; return 0; fi
  if [[ -z "$(gcloud secrets versions list "$1" --project "$project" --filter state:ENABLED --limit 1 --format 'value(name)')" ]]; then state=empty; return 0; fi
  state=ok; return 1
}
put() {
  if [[ $state == missing ]]; then
    gcloud secrets create "$1" --project "$project" --replication-policy automatic --data-file=- --quiet >/dev/null
  else
    gcloud secrets versions add "$1" --project "$project" --data-file=- --quiet >/dev/null
  fi
  echo "created: $1 (project $project)" >&2
}
props() { gcloud secrets versions access latest --secret "$1" --project "$project"; }
`
	}},
	"aws": {prelude: func(s platform.SecretStore) string {
		region := "${AWS_REGION:?set AWS_REGION: the store names none}"
		if s.Region != "" {
			region = "${AWS_REGION:-" + s.Region + "}"
		}
		return `region=` + region + `
need() {
  if aws secretsmanager describe-secret --secret-id "$1" --region "$region" >/dev/null 2>&1; then state=ok; return 1; fi
  state=missing; return 0
}
put() {
  aws secretsmanager create-secret --name "$1" --region "$region" --secret-string file:///dev/stdin >/dev/null
  echo "created: $1 (region $region)" >&2
}
props() { aws secretsmanager get-secret-value --secret-id "$1" --region "$region" --query SecretString --output text; }
`
	}},
}

// scriptCommon reads values and checks existing JSON secrets, whatever the store.
const scriptCommon = `[[ -n "${BASH_SOURCE[0]:-}" ]] || { echo "save this script to a file and run it (bash FILE): it reads the values from stdin" >&2; exit 1; }
set -euo pipefail
command -v jq >/dev/null || { echo "this script needs jq" >&2; exit 1; }
failed=0
# value PROMPT HINT: one value, from the terminal (not echoed) or one line of stdin.
value() {
  local v
  if [[ -t 0 ]]; then
    read -rsp "$1${2:+ ($2)}: " v; echo >&2
  else
    IFS= read -r v || true
  fi
  [[ -n $v ]] || { echo "no value for $1" >&2; exit 1; }
  printf '%s' "$v"
}
# check_json KEY PROPERTIES: warn when an existing key lacks a property the tree reads.
check_json() {
  local missing
  if ! missing=$(props "$1" | jq -r --argjson want "$2" '[$want[] as $p | select(has($p) | not) | $p] | join(", ")' 2>/dev/null); then
    echo "WARN: $1 exists but is not a JSON object; the tree reads its properties $2" >&2; failed=1; return
  fi
  if [[ -n $missing ]]; then echo "WARN: $1 exists but lacks $missing: add a version with every property" >&2; failed=1; fi
}
`

// WriteSecretsScript writes a bash script that creates, in each store of the
// contract, the remote secrets it does not hold yet. Values are never in it:
// each is read from the terminal (or a line of stdin), in the order of the
// prompts. Existing JSON secrets are checked for the properties the tree reads.
func WriteSecretsScript(w io.Writer, c platform.SecretContract, cmd string) error {
	var stores []platform.SecretStore
	for _, s := range c.Stores {
		if s.Provider == "" {
			return fmt.Errorf("%s: the tree renders no such store, so its backend is unknown: add it to the tree (the apps the ExternalSecrets' secretStoreRef names)", s.Ref())
		}
		if _, ok := backends[s.Provider]; !ok {
			return fmt.Errorf("%s (%s): -o script writes commands for %s only", s.Ref(), s.Provider, strings.Join(slices.Sorted(maps.Keys(backends)), " and "))
		}
		stores = append(stores, s)
	}
	var b strings.Builder
	scope := "the enabled groups"
	switch {
	case c.All:
		scope = "every group of the catalog"
	case c.Profile != "":
		scope = "the enabled groups of profile " + c.Profile
	}
	fmt.Fprintf(&b, "#!/usr/bin/env bash\n# The remote secrets of environment %s (%s) that the store does not hold yet.\n", c.Env, scope)
	fmt.Fprintf(&b, "# Written by: %s. Values are never in this file: each is read from the\n", cmd)
	b.WriteString("# terminal, or from one line of stdin in the order of the prompts (bash FILE < values).\n")
	b.WriteString("# A key that exists is left alone; a JSON one is checked for the properties the tree reads.\n")
	b.WriteString(scriptCommon)
	n := 0
	for _, s := range stores {
		fmt.Fprintf(&b, "\n# --- %s (%s%s)\n", s.Ref(), s.Provider, s.Where())
		b.WriteString(backends[s.Provider].prelude(s))
		for _, rs := range c.Remote {
			if rs.Store != s.Ref() {
				continue
			}
			n++
			writeRemote(&b, rs)
		}
	}
	if len(c.Seeded) > 0 {
		b.WriteString("\n# Made by hand, not in the store (seededSecrets):\n")
		for _, s := range c.Seeded {
			fmt.Fprintf(&b, "#   %s/%s: %s\n", s.Namespace, s.Name, s.Reason)
		}
	}
	fmt.Fprintf(&b, "\necho \"%d remote secret(s) checked\" >&2\nexit $failed\n", n)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRemote writes the block that creates one remote secret.
func writeRemote(b *strings.Builder, rs platform.RemoteSecret) {
	fmt.Fprintf(b, "\n# %s: %s", rs.Key, describeShape(rs))
	if rs.Description != "" {
		fmt.Fprintf(b, "\n#   %s", rs.Description)
	}
	var secrets []string
	for _, r := range rs.Readers {
		if !slices.Contains(secrets, r.Secret) {
			secrets = append(secrets, r.Secret)
		}
	}
	fmt.Fprintf(b, "\n#   read into %s\n", strings.Join(secrets, ", "))
	key := shellQuote(rs.Key)
	if rs.Shape == platform.ShapeConflict {
		fmt.Fprintf(b, "echo \"SKIP: %s is read both whole and by property (kubectl profile lint says where): fix the tree first\" >&2; failed=1\n", rs.Key)
		return
	}
	if rs.Shape == platform.ShapePlain {
		fmt.Fprintf(b, "if need %s; then V=$(value %s %s); printf '%%s' \"$V\" | put %s; fi\n", key, key, shellQuote(rs.Hint), key)
		return
	}
	props := rs.Properties
	if len(props) == 0 { // extracted whole, no property known: one JSON value
		fmt.Fprintf(b, "if need %s; then\n  V=$(value %s %s | jq -ce 'if type == \"object\" then . else error(\"not a JSON object\") end')\n  printf '%%s' \"$V\" | put %s\nfi\n",
			key, shellQuote(rs.Key+" (a JSON object)"), shellQuote(rs.Hint), key)
		return
	}
	want, _ := json.Marshal(props)
	fmt.Fprintf(b, "if need %s; then\n", key)
	var fields []string
	for i, p := range props {
		fmt.Fprintf(b, "  V%d=$(value %s %s)\n", i+1, shellQuote(rs.Key+" "+p), shellQuote(rs.Hint))
		fields = append(fields, fmt.Sprintf("%q: env.V%d", p, i+1))
	}
	env := ""
	for i := range props {
		env += fmt.Sprintf("V%d=\"$V%d\" ", i+1, i+1)
	}
	fmt.Fprintf(b, "  V=$(%sjq -cn %s)\n  printf '%%s' \"$V\" | put %s\n", env, shellQuote("{"+strings.Join(fields, ", ")+"}"), key)
	fmt.Fprintf(b, "elif [[ $state == ok ]]; then check_json %s %s; fi\n", key, shellQuote(string(want)))
}

// describeShape says what a remote key holds.
func describeShape(rs platform.RemoteSecret) string {
	switch rs.Shape {
	case platform.ShapeJSON:
		if len(rs.Properties) == 0 {
			return "a JSON object (every property is read)"
		}
		return "JSON {" + strings.Join(rs.Properties, ", ") + "}"
	case platform.ShapeConflict:
		return "read whole and by property (a contract no value satisfies)"
	}
	return "a plain value"
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
