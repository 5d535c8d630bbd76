package profile

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// newCmdLint checks an environment's GitOps tree offline.
func newCmdLint(c *common) *cobra.Command {
	return c.NewCmdLint(
		"Check the environment's tree offline: sources, pins, secrets, ApplicationSets",
		`Checks, without a cluster, that the tree deploys as written, for every group whether
it is enabled or not:
  - the files resolve generates are up to date with the config;
  - one ApplicationSet per layer of platform.yaml, each reading the groups file it names;
  - every git source of an Application is a folder of this repository that builds
    (kustomize, offline, or a plain folder of manifests), with the config applied;
  - every chart (chart repository or OCI) is pinned to an exact version;
  - every image of the workload folders is pinned by a tag other than latest, or a digest;
  - every Secret a workload reads is produced in the tree: by an ExternalSecret, a
    CloudNativePG cluster, a cert-manager Certificate, or listed under seededSecrets;
  - the secret contract can be satisfied (see profile secrets): no remote key is read
    whole by one ExternalSecret and by JSON property by another; every read matches
    the shape platform.yaml documents under remoteSecrets (a warning for a key it does
    not document, when it documents any); the Secret keys listed together under
    sameValue read one remote key by one property.
Each finding names the file, the field and the fix. Exit 1 on any error.`,
		`  kubectl profile lint --env ai-dev
  kubectl profile lint --env sandbox -o json`,
		"Exit 1 on warnings too",
		func(env *platform.Env) ([]platform.Finding, string, string) {
			return env.Lint(), fmt.Sprintf("%d apps", len(env.Apps)), "tree"
		})
}
