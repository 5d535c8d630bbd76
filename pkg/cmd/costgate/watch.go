package costgate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/watch"
)

// WatchOptions runs the watcher: costgate idle, kept by the cluster itself.
type WatchOptions struct {
	*common
	ArgoNamespace    string
	PrometheusURL    string
	IdleInterval     time.Duration
	IdleAfter        time.Duration
	DefaultIdleAfter time.Duration
	NoData           string
	DryRun           bool
	MetricsAddr      string
	ProbeAddr        string
	LeaderElect      bool
	LeaderNamespace  string
	LeaderName       string
	LogFormat        string

	// Listening, when set, is told where the endpoints listen (tests bind :0).
	Listening func(watch.Listening)
}

// watchListening is handed to every watch (export_test.go sets it).
var watchListening func(watch.Listening)

func newCmdWatch(c *common) *cobra.Command {
	o := &WatchOptions{common: c, Listening: watchListening}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Run in the cluster: close gates whose lease ran out, outside their uptime window, or idle, by itself",
		Long: `Runs until stopped (SIGTERM, Ctrl-C), deciding about every gate what costgate idle
decides, through the same code: its lease ran out, it is outside its uptime window, or it
served no requests for its idle window (Prometheus, with --prometheus-url; without, only
leases and windows close gates). It decides when something about a gate changes and when
its next deadline comes (lease end, window edge, the next traffic check every
--idle-interval), not by polling every gate.

It learns the gates from the Applications in Argo CD's namespace (their
costgate.aidev.io/* annotations): it needs no copy of the repository. Each close is a
Kubernetes Event on the Application (reason CostGateClosed) and one JSON log line.

Replicas agree through a coordination.k8s.io Lease (--leader-elect): one decides, the others
stand by and take over when it stops. Metrics on --metrics-bind-address /metrics (per gate:
open, cost per hour, seconds open, lease remaining; the open gates' total cost per hour;
closes by reason; decision errors), probes on --health-probe-bind-address /healthz and /readyz.

In the cluster it is the platform layer's costgate-watcher app, with its ServiceAccount and roles;
by hand, with your kubeconfig.`,
		Example: `  # Try it by hand: decide and log, change nothing
  kubectl costgate watch --dry-run --prometheus-url http://localhost:9090

  # As the platform's Deployment runs it
  kubectl-costgate watch --argocd-namespace argocd --leader-elect \
    --prometheus-url http://kube-prometheus-stack-prometheus.monitoring:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ArgoNamespace, "argocd-namespace", "argocd", "Argo CD's namespace, where the Applications are")
	f.StringVar(&o.PrometheusURL, "prometheus-url", "", "Prometheus base URL for the traffic decisions (none: only leases and uptime windows close gates)")
	f.DurationVar(&o.IdleInterval, "idle-interval", 5*time.Minute, "How often an open gate's traffic is asked again")
	f.DurationVar(&o.IdleAfter, "idle-after", 0, "Idle window for every gate, overriding their annotations")
	f.DurationVar(&o.DefaultIdleAfter, "default-idle-after", 0, "Idle window for gates without an idle-after annotation (0: leave them alone)")
	f.StringVar(&o.NoData, "no-data", "keep", `What a query with no series means: "keep" or "idle"`)
	f.BoolVar(&o.DryRun, "dry-run", false, "Decide and log, close nothing and write no Event")
	f.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", `Address of /metrics ("0": none)`)
	f.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", `Address of /healthz and /readyz ("0": none)`)
	f.BoolVar(&o.LeaderElect, "leader-elect", false, "Take a coordination.k8s.io Lease before deciding, so that one replica acts")
	f.StringVar(&o.LeaderNamespace, "leader-election-namespace", "", "Namespace of the Lease (default: the pod's, else --argocd-namespace)")
	f.StringVar(&o.LeaderName, "leader-election-id", costgate.LeaseName, "Name of the Lease (the shipped roles grant this one)")
	f.StringVar(&o.LogFormat, "log-format", "json", `Log lines on stderr: "json" or "text"`)
	return cmd
}

// Validate checks the flags.
func (o *WatchOptions) Validate() error {
	if o.NoData != "keep" && o.NoData != "idle" {
		return fmt.Errorf(`--no-data=%q: want "keep" or "idle"`, o.NoData)
	}
	if o.IdleInterval <= 0 {
		return fmt.Errorf("--idle-interval=%s: want a positive duration such as 5m", o.IdleInterval)
	}
	if o.IdleAfter < 0 || o.DefaultIdleAfter < 0 {
		return fmt.Errorf("--idle-after and --default-idle-after must not be negative")
	}
	if o.PrometheusURL != "" {
		if u, err := url.Parse(o.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--prometheus-url %q: want an http(s) URL such as http://prometheus.monitoring:9090", o.PrometheusURL)
		}
	}
	if o.ArgoNamespace == "" {
		return fmt.Errorf("--argocd-namespace must not be empty")
	}
	if o.LogFormat != "json" && o.LogFormat != "text" {
		return fmt.Errorf(`--log-format=%q: want "json" or "text"`, o.LogFormat)
	}
	return nil
}

// Run watches until ctx ends.
func (o *WatchOptions) Run(ctx context.Context) error {
	var handler slog.Handler = slog.NewJSONHandler(o.ErrOut, nil)
	if o.LogFormat == "text" {
		handler = slog.NewTextHandler(o.ErrOut, nil)
	}
	log := slog.New(handler).With("component", watch.Component)
	klog.SetSlogLogger(log) // client-go's own lines (leader election) in the same format
	client, err := o.Client()
	if err != nil {
		return err
	}
	// In a pod the root filesystem is read-only: discovery is cached in memory.
	cached := memory.NewMemCacheClient(client.Typed.Discovery())
	client.Discovery, client.Mapper = cached, restmapper.NewDeferredDiscoveryRESTMapper(cached)
	clk := clock.RealClock{}
	metrics := watch.NewMetrics(clk)
	identity := podName() + "_" + rand.String(5)
	cfg := watch.Config{
		Client: client, ArgoNamespace: o.ArgoNamespace, Host: platform.Host(o.Host()),
		Rule:         costgate.IdleRule{Override: o.IdleAfter, Default: o.DefaultIdleAfter, NoDataIsIdle: o.NoData == "idle"},
		IdleInterval: o.IdleInterval, DryRun: o.DryRun, Clock: clk, Metrics: metrics, Log: log,
	}
	if o.PrometheusURL != "" {
		cfg.Prometheus = &costgate.DirectPrometheus{URL: o.PrometheusURL}
	}
	if !o.DryRun {
		cfg.Events = &watch.Events{Client: client.Typed, Namespace: o.ArgoNamespace, Instance: identity, Clock: clk}
	}
	w := watch.New(cfg)
	var leading atomic.Bool // this replica decides: ready only once it has listed
	leading.Store(!o.LeaderElect)
	ends := watch.Endpoints{MetricsAddr: o.MetricsAddr, ProbeAddr: o.ProbeAddr, Metrics: metrics, Ready: func() error {
		if leading.Load() && !w.Ready() {
			return errors.New("listing the Applications")
		}
		return nil
	}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	at, serveErrs, err := ends.Serve(ctx)
	if err != nil {
		return err
	}
	if o.Listening != nil {
		o.Listening(at)
	}
	log.Info("starting", "metrics", at.Metrics, "probes", at.Probe, "leaderElect", o.LeaderElect, "identity", identity)
	done := make(chan error, 1)
	go func() {
		if !o.LeaderElect {
			metrics.Leading(true)
			done <- w.Run(ctx)
			return
		}
		ns := o.LeaderNamespace
		if ns == "" {
			ns = podNamespace(o.ArgoNamespace)
		}
		e := watch.Election{Client: client.Typed, Namespace: ns, Name: o.LeaderName, Identity: identity, Log: log}
		done <- e.Run(ctx, metrics, func(lctx context.Context) error {
			leading.Store(true)
			defer leading.Store(false)
			return w.Run(lctx)
		})
	}()
	select {
	case err := <-serveErrs:
		cancel()
		<-done
		return err
	case err := <-done:
		if err == nil {
			log.Info("stopped")
		}
		return err
	}
}

// podName is this replica's name: the pod's (its hostname), else the machine's.
func podName() string {
	if n := os.Getenv("POD_NAME"); n != "" {
		return n
	}
	n, _ := os.Hostname()
	return n
}

// podNamespace is the namespace the pod runs in (its service account's), or
// fallback outside a pod.
func podNamespace(fallback string) string {
	if n := os.Getenv("POD_NAMESPACE"); n != "" {
		return n
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	return fallback
}
