package costgate

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// ListOptions lists the gates.
type ListOptions struct {
	*common
	Output string
}

func newCmdList(c *common) *cobra.Command {
	o := &ListOptions{common: c}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"status"},
		Short:   "List every gated app: gate, target, sync, health, state, replicas, cost, time up",
		Example: `  kubectl costgate list --env ai-dev
  kubectl costgate status --env ai-dev -o wide
  kubectl costgate list --env ai-dev -o json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := printers.ValidateFormat(o.Output, "json", "yaml", "wide"); err != nil {
				return err
			}
			return o.Run(context.Background())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml or wide")
	return cmd
}

// readLive makes one LIST per kind: Applications, Deployments, InferenceServices.
func readLive(ctx context.Context, s *session) (costgate.Live, error) {
	live := costgate.Live{Apps: map[string]*unstructured.Unstructured{}, Deployments: map[string]*unstructured.Unstructured{}, InferenceServices: map[string]*unstructured.Unstructured{}}
	apps, err := s.client.Resource(kube.Applications, s.env.Config.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return live, s.client.Explain(err, kube.Applications)
	}
	for i := range apps.Items {
		live.Apps[apps.Items[i].GetName()] = &apps.Items[i]
	}
	for _, k := range []struct {
		kind kube.Kind
		into map[string]*unstructured.Unstructured
	}{{kube.Deployments, live.Deployments}, {kube.InferenceServices, live.InferenceServices}} {
		list, err := s.client.Dynamic.Resource(k.kind.GVR).List(ctx, metav1.ListOptions{})
		if kube.IsMissingKind(err) {
			continue // KServe not installed: every InferenceService is absent
		}
		if err != nil {
			return live, s.client.Explain(err, k.kind)
		}
		for i := range list.Items {
			o := &list.Items[i]
			k.into[o.GetNamespace()+"/"+o.GetName()] = o
		}
	}
	return live, nil
}

// Run lists.
func (o *ListOptions) Run(ctx context.Context) error {
	s, err := o.open(ctx)
	if err != nil {
		return err
	}
	live, err := readLive(ctx, s)
	if err != nil {
		return err
	}
	now := time.Now()
	statuses := costgate.Observe(costgate.Gated(s.env), live, now)
	if o.Output == "json" || o.Output == "yaml" {
		return printers.Data(o.Out, o.Output, statuses)
	}
	header := []string{"APP", "LAYER", "GATE", "TARGET", "SYNC", "HEALTH", "STATE", "REPLICAS", "COST/H", "UP FOR"}
	if o.Output == "wide" {
		header = append(header, "GROUP", "NOTE")
	}
	var rows [][]string
	total := 0.0
	for _, st := range statuses {
		up := "-"
		if st.UpSince != nil {
			up = now.Sub(*st.UpSince).Round(time.Second).String()
		}
		replicas := "-"
		if st.Gate != "sync" && st.State != costgate.StateAbsent {
			replicas = fmt.Sprintf("%d/%d", st.Ready, st.Desired)
		}
		target := st.Target
		if target == "" {
			target = "-"
		}
		row := []string{st.App, st.Layer, st.Gate, target, st.Sync, st.Health, string(st.State), replicas, fmt.Sprintf("$%.2f", st.CostPerHour), up}
		if o.Output == "wide" {
			row = append(row, st.Group, st.Reason)
		}
		rows = append(rows, row)
		if st.State == costgate.StateUp || st.State == costgate.StateStarting {
			total += st.CostPerHour
		}
	}
	if err := printers.Table(o.Out, header, rows); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "\nopen gates cost $%.2f per hour\n", total)
	return nil
}
