package profile

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
)

// DiffOptions shows what apply would change.
type DiffOptions struct {
	*common
	Profile string
}

func newCmdDiff(c *common) *cobra.Command {
	o := &DiffOptions{common: c}
	return &cobra.Command{
		Use:   "diff PROFILE",
		Short: "Show what apply would change on the live cluster (server-side dry run)",
		Long: `Server-side dry-runs the apply of each object and compares the result with the live
object, so defaults and other field managers are accounted for the way apply would see
them. Exit 0 when nothing would change, 1 when something would, >1 on error.`,
		Example:           `  kubectl profile diff full --env ai-dev`,
		Args:              profileArg,
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.ProfileNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Profile = args[0]
			return o.Run(cmd.Context())
		},
	}
}

// Run diffs every object and exits 1 when any differs.
func (o *DiffOptions) Run(ctx context.Context) error {
	env, p, err := o.loadProfile(o.Profile)
	if err != nil {
		return &cli.ExitError{Code: 2, Err: err}
	}
	objs, err := profile.Desired(env, p)
	if err != nil {
		return &cli.ExitError{Code: 2, Err: err}
	}
	client, err := o.connect(ctx, env)
	if err != nil {
		return &cli.ExitError{Code: 2, Err: err}
	}
	changed := 0
	for _, obj := range objs {
		k, _ := kube.KindFor(obj.GetAPIVersion(), obj.GetKind())
		live, err := client.Resource(k, obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return &cli.ExitError{Code: 2, Err: client.Explain(err, k)}
		}
		after, err := client.Apply(ctx, obj, profile.FieldManager, true)
		if err != nil {
			return &cli.ExitError{Code: 2, Err: err}
		}
		var before string
		if live != nil && err == nil && live.GetName() != "" {
			before = comparable(live)
		}
		if d := diffText(before, comparable(after)); d != "" {
			changed++
			fmt.Fprintf(o.Out, "--- %s (live)\n+++ %s (after apply)\n%s", profile.Ref(obj), profile.Ref(obj), d)
		}
	}
	if changed == 0 {
		fmt.Fprintf(o.ErrOut, "profile %s: no differences\n", p.Name)
		return nil
	}
	fmt.Fprintf(o.ErrOut, "profile %s: %d object(s) would change\n", p.Name, changed)
	return &cli.ExitError{Code: 1}
}

// comparable is an object as YAML without the fields the server owns.
func comparable(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(c.Object, "status")
	b, _ := yaml.Marshal(c.Object)
	return string(b)
}

// diffText is the changed lines of a line diff, with context, or "" when equal.
func diffText(a, b string) string {
	if a == b {
		return ""
	}
	return platform.LineDiff(a, b)
}
