package costgate

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// IdleOptions closes the gates that served nothing for their idle window.
type IdleOptions struct {
	*common
	DryRun            bool
	PrometheusURL     string
	PrometheusService string
	IdleAfter         time.Duration
	DefaultIdleAfter  time.Duration
	NoData            string
	Output            string
	Fleet             cli.FleetFlags
}

func newCmdIdle(c *common) *cobra.Command {
	o := &IdleOptions{common: c}
	cmd := &cobra.Command{
		Use:   "idle",
		Short: "Close every open gate whose lease ran out, that is outside its uptime window, or that served no requests",
		Long: `For each open gate, in this order:
  - its lease ran out (costgate.aidev.io/expires-at, set by up --for or the gate's max-open):
    closed;
  - it is outside its uptime window (costgate.aidev.io/uptime, e.g. "Mon-Fri 07:00-20:00
    Europe/Berlin") and no lease holds it open: closed;
  - else asks Prometheus how many requests its pods served in the gate's idle window
    (annotation costgate.aidev.io/idle-after, for example 30m) and closes it when none.
Leases and windows need no Prometheus: they are enforced even when it cannot be reached.

The query is the gate's costgate.aidev.io/idle-query, or a default: vLLM's
vllm:request_success_total for scale gates, KServe's request_predict_seconds_count for
pause gates; a sync gate has only its own. A gate opened less than its window ago is kept,
and so is one with no traffic data at all (unless --no-data=idle).

Prometheus is --prometheus-url (the only way in server mode, under argocd without --core),
or the in-cluster Service --prometheus-service reached through the API server's service
proxy. Suitable for a CronJob or a cron line: exit 0 when it did what it should, 1 when a
query or a close failed.`,
		Example: `  kubectl costgate idle --dry-run --env ai-dev
  kubectl costgate idle --prometheus-url http://prometheus.monitoring:9090 --env ai-dev
  kubectl costgate idle --prometheus-service monitoring/kube-prometheus-stack-prometheus:9090 --env ai-dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if err := o.Fleet.Validate(o.Factory, cmd); err != nil {
				return err
			}
			if o.Fleet.AllEnvs {
				// Every environment's gates on its own cluster, each decided
				// and closed as idle would there.
				return o.runFleet(cmd.Context(), o.Fleet, o.Output, "idle", func(ctx context.Context, c *common) error {
					one := *o
					one.common = c
					return one.Run(ctx)
				})
			}
			return o.Run(cmd.Context())
		},
	}
	o.Fleet.AddFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "Say what would be closed, close nothing")
	cmd.Flags().StringVar(&o.PrometheusURL, "prometheus-url", "", "Prometheus base URL")
	cmd.Flags().StringVar(&o.PrometheusService, "prometheus-service", "monitoring/kube-prometheus-stack-prometheus:9090", "In-cluster Prometheus Service NAMESPACE/NAME:PORT, used when --prometheus-url is not set")
	cmd.Flags().DurationVar(&o.IdleAfter, "idle-after", 0, "Idle window for every gate, overriding their annotations")
	cmd.Flags().DurationVar(&o.DefaultIdleAfter, "default-idle-after", 0, "Idle window for gates without an idle-after annotation (0: leave them alone)")
	cmd.Flags().StringVar(&o.NoData, "no-data", "keep", `What a query with no series means: "keep" (unknown, do nothing) or "idle"`)
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// Validate checks the flags.
func (o *IdleOptions) Validate() error {
	if o.NoData != "keep" && o.NoData != "idle" {
		return fmt.Errorf(`--no-data=%q: want "keep" or "idle"`, o.NoData)
	}
	if o.IdleAfter < 0 || o.DefaultIdleAfter < 0 {
		return fmt.Errorf("--idle-after and --default-idle-after must not be negative")
	}
	if o.PrometheusURL != "" {
		if u, err := url.Parse(o.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--prometheus-url %q: want an http(s) URL such as http://prometheus.monitoring:9090", o.PrometheusURL)
		}
	} else if _, _, _, err := parseService(o.PrometheusService); err != nil {
		return err
	}
	return printers.ValidateFormat(o.Output, "json", "yaml")
}

func parseService(s string) (ns, name, port string, err error) {
	ns, rest, ok := strings.Cut(s, "/")
	name, port, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || ns == "" || name == "" || port == "" {
		return "", "", "", fmt.Errorf("--prometheus-service %q: want NAMESPACE/NAME:PORT", s)
	}
	return ns, name, port, nil
}

// Run decides, then closes.
func (o *IdleOptions) Run(ctx context.Context) error {
	s, err := o.open(ctx)
	if err != nil {
		return err
	}
	var prom costgate.Prometheus = &costgate.DirectPrometheus{URL: o.PrometheusURL}
	if o.PrometheusURL == "" && s.client == nil {
		// Leases and windows need no Prometheus: they are enforced anyway.
		fmt.Fprintf(o.ErrOut, "note: in server mode the traffic decisions need --prometheus-url (the in-cluster Service --prometheus-service is reached through the Kubernetes API, or %s); closing only what leases and uptime windows say\n", o.ArgoCD.CoreHint())
		prom = nil
	} else if o.PrometheusURL == "" {
		ns, name, port, _ := parseService(o.PrometheusService)
		prom = &costgate.ServicePrometheus{REST: s.client.Typed.CoreV1().RESTClient(), Namespace: ns, Service: name, Port: port}
	}
	gated := costgate.Configured(s.env)
	live, err := s.gates.ReadLive(ctx, gated)
	if err != nil {
		return err
	}
	now := o.Now()
	decisions := costgate.DecideIdle(ctx, prom, gated, costgate.Observe(s.env.Host, gated, live, now),
		costgate.IdleRule{Override: o.IdleAfter, Default: o.DefaultIdleAfter, NoDataIsIdle: o.NoData == "idle"}, now)

	failed := 0
	byName := map[string]platform.App{}
	for _, a := range gated {
		byName[a.Name] = a
	}
	for i, d := range decisions {
		if d.Error != "" {
			failed++
		}
		if !d.Idle || o.DryRun {
			continue
		}
		if _, err := s.gates.Close(ctx, byName[d.App]); err != nil {
			decisions[i].Error = err.Error()
			failed++
		}
	}
	if o.Output != "" {
		if err := printers.Data(o.Out, o.Output, decisions); err != nil {
			return err
		}
	} else {
		for _, d := range decisions {
			verb := "kept"
			switch {
			case d.Idle && o.DryRun:
				verb = "would close"
			case d.Idle && d.Error == "":
				verb = "closed"
			case d.Idle:
				verb = "failed to close"
			}
			line := fmt.Sprintf("%s %s (%s): %s", verb, d.App, d.Target, strings.TrimPrefix(d.Reason, "kept: "))
			if d.Idle {
				line += fmt.Sprintf(", saving $%.2f per hour", byName[d.App].Gate.CostPerHour)
			}
			if d.Error != "" {
				line += ": " + d.Error
			}
			fmt.Fprintln(o.Out, line)
		}
		if len(decisions) == 0 {
			fmt.Fprintln(o.Out, "no open gates")
		}
	}
	if failed > 0 {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%d gate(s) could not be checked or closed", failed)}
	}
	return nil
}
