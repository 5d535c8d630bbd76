package profile_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
)

// The ai-dev tree's contract as a table, wide, JSON and a gcloud script; no
// cluster is asked.
func TestSecretsOfTheAiDevTree(t *testing.T) {
	for _, output := range []string{"", "wide", "json", "script"} {
		h := clitest.New(t, "kubectl-profile")
		h.ClientErr = errNoCluster
		args := clitest.Args(t, "ai-dev", "secrets")
		name := "secrets-ai-dev"
		if output != "" {
			args = append(args, "-o", output)
			name += "-" + output
		}
		r := h.Run(profile.NewCmd, args...)
		r.Stdout = clitest.Normalize(r.Stdout, clitest.Clusters(t), "<clusters>")
		clitest.Golden(t, name, r.String())
	}
}

// The contract follows what the config enables and the profile holds: the
// serving profile reads fewer keys than every layer, --all more.
func TestSecretsFollowTheProfileAndTheConfig(t *testing.T) {
	count := func(args ...string) (keys int, profileField string) {
		h := clitest.New(t, "kubectl-profile")
		h.ClientErr = errNoCluster
		r := h.Run(profile.NewCmd, clitest.Args(t, "ai-dev", append([]string{"secrets", "-o", "json"}, args...)...)...)
		if r.Code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.Code, r.Stderr)
		}
		var c platform.SecretContract
		if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil {
			t.Fatal(err)
		}
		return len(c.Remote), c.Profile
	}
	enabled, _ := count()
	serving, p := count("--profile", "serving")
	all, _ := count("--all")
	if p != "serving" || serving >= enabled || enabled > all || serving == 0 {
		t.Errorf("keys: serving %d (profile %q), enabled %d, all %d: want 0 < serving < enabled <= all", serving, p, enabled, all)
	}
}

func TestSecretsBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"all-and-profile": {"secrets", "--all", "--profile", "full"},
		"bad-output":      {"secrets", "-o", "table"},
		"unknown-profile": {"secrets", "--profile", "gpu"},
	} {
		h := clitest.New(t, "kubectl-profile")
		h.ClientErr = errNoCluster
		clitest.Golden(t, "secrets-bad-"+name, h.Run(profile.NewCmd, clitest.Args(t, "ai-dev", args...)...).String())
	}
}

// Broken copies of ai-dev: a key read whole by one ExternalSecret and by
// property by another, a property the documented shape does not provide, and
// two Secret keys that must agree reading different remote keys. Lint names
// the file and the field of each, and exits 1; secrets shows the conflict.
func TestLintFindsAContractNoStoreCanSatisfy(t *testing.T) {
	grafana := "workloads/platform/observability/grafana-admin-externalsecret.yaml"
	argocd := "workloads/platform/argocd-oidc-secret/argocd-oidc-secret-externalsecret.yaml"
	dir := platformtest.CopyEnv(t, clitest.Clusters(t), "ai-dev", map[string]platformtest.Edit{
		grafana: func(s string) string {
			s = platformtest.Replace(t, "      key: aidev-grafana-admin\n      property: admin-user\n", "      key: aidev-grafana-admin\n")(s)
			return platformtest.Replace(t, "property: admin-password", "property: password")(s)
		},
		argocd: platformtest.Replace(t, "key: aidev-argocd-oidc-secret", "key: aidev-argocd-client"),
	})
	for _, output := range []string{"", "json"} {
		h := clitest.New(t, "kubectl-profile")
		h.ClientErr = errNoCluster
		args := []string{"lint", "--env", "ai-dev", "--dir", dir}
		name := "lint-broken-secrets"
		if output != "" {
			args = append(args, "-o", output)
			name += "-" + output
		}
		r := h.Run(profile.NewCmd, args...)
		r.Stdout = clitest.Normalize(r.Stdout, dir, "<copy>")
		clitest.Golden(t, name, r.String())
		if r.Code != 1 {
			t.Errorf("lint passed a broken contract")
		}
		for _, want := range []string{grafana, argocd, "[secret-shape]", "[secret-same-value]", "spec.data[0].remoteRef", "spec.data[1].remoteRef"} {
			if output == "" && !strings.Contains(r.Stdout, want) {
				t.Errorf("lint output lacks %q", want)
			}
		}
	}
	h := clitest.New(t, "kubectl-profile")
	h.ClientErr = errNoCluster
	r := h.Run(profile.NewCmd, "secrets", "--env", "ai-dev", "--dir", dir)
	if !strings.Contains(r.Stdout, "aidev-grafana-admin") || !strings.Contains(r.Stdout, "CONFLICT: whole and admin-password,admin-user,password") {
		t.Errorf("secrets does not show the conflict:\n%s", r.Stdout)
	}
}
