package watch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Endpoints are the watcher's HTTP listeners: /metrics, and the probes
// /healthz and /readyz (controller-runtime's flag names and paths).
type Endpoints struct {
	MetricsAddr string // "0" or "": none
	ProbeAddr   string
	Metrics     *Metrics
	// Ready says whether the replica is ready: a standby is (it is doing its
	// job, waiting), a leader once it has listed the Applications.
	Ready func() error
}

// Listening are the addresses the endpoints listen on (":0" resolved).
type Listening struct{ Metrics, Probe string }

// Serve listens first, so a taken port fails here and not later, then
// serves until ctx ends.
func (e Endpoints) Serve(ctx context.Context) (Listening, <-chan error, error) {
	var at Listening
	var servers []*http.Server
	var listeners []net.Listener
	add := func(addr string, mux *http.ServeMux, where *string, flag string) error {
		if addr == "" || addr == "0" {
			return nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("--%s %s: %w", flag, addr, err)
		}
		*where = l.Addr().String()
		listeners = append(listeners, l)
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second})
		return nil
	}
	metrics := http.NewServeMux()
	metrics.Handle("/metrics", promhttp.HandlerFor(e.Metrics.Registry, promhttp.HandlerOpts{Registry: e.Metrics.Registry}))
	probes := http.NewServeMux()
	probes.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	probes.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := e.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if err := add(e.MetricsAddr, metrics, &at.Metrics, "metrics-bind-address"); err != nil {
		return at, nil, err
	}
	if err := add(e.ProbeAddr, probes, &at.Probe, "health-probe-bind-address"); err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		return at, nil, err
	}
	errs := make(chan error, len(servers))
	for i, s := range servers {
		go func() {
			if err := s.Serve(listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(shutdown)
		}
	}()
	return at, errs, nil
}
