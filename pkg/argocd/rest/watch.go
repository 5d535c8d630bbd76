package rest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// grpcUnavailable is gRPC's code for a server going away, as the stream's
// error lines carry it.
const grpcUnavailable = 14

// Watch sends the set of Applications (of project) each time it changes: the
// list first, then after every event of Argo CD's application stream (which
// starts by sending every app again, so what changed between the two is
// caught up; only an app deleted in between stays until the set is read
// again). It ends when ctx does, or when Argo CD refuses the request (Err
// says why); a lost stream is opened again.
func (c *Client) Watch(ctx context.Context, project string) *kube.Watcher {
	return c.watch(ctx, applicationsKind, project)
}

// WatchApplicationSets is Watch for the ApplicationSets (of project).
func (c *Client) WatchApplicationSets(ctx context.Context, project string) *kube.Watcher {
	return c.watch(ctx, applicationSetsKind, project)
}

func (c *Client) watch(ctx context.Context, k kind, project string) *kube.Watcher {
	out := make(chan kube.Snapshot, 1)
	w, fail := kube.NewWatcher(out)
	go func() {
		defer close(out)
		send := func(snap kube.Snapshot) {
			copied := make(kube.Snapshot, len(snap))
			for k, v := range snap {
				copied[k] = v
			}
			select { // the latest set, not a backlog
			case <-out:
			default:
			}
			out <- copied
		}
		// A stream lost with its connection (the server restarting, a proxy
		// dropping it) is listed and opened again with backoff until ctx ends;
		// a refusal of Argo CD's ends the watch at once.
		delay := 250 * time.Millisecond
		var outage error                        // the loss being ridden out, if any
		reached := false                        // a server never reached is not waited for
		connected := func(snap kube.Snapshot) { // a fresh list: any outage is over
			outage, delay, reached = nil, 250*time.Millisecond, true
			w.SetTrouble(nil)
			send(snap)
		}
		for {
			err := c.watchOnce(ctx, k, project, connected)
			var refused *statusError
			switch {
			case ctx.Err() != nil && outage != nil: // the deadline came during an outage: say so
				fail(fmt.Errorf("lost Argo CD at %s and it did not come back: %v", c.server, outage))
				return
			case ctx.Err() != nil:
				return
			case errors.As(err, &refused) && refused.code < 500, !reached:
				fail(err)
				return
			}
			outage = err
			w.SetTrouble(err)
			klog.V(1).Infof("Argo CD at %s: %v; watching again in %s", c.server, err, delay)
			select {
			case <-ctx.Done():
				fail(fmt.Errorf("lost Argo CD at %s and it did not come back: %v", c.server, err))
				return
			case <-time.After(delay):
			}
			delay = min(2*delay, 5*time.Second)
		}
	}()
	return w
}

// watchOnce lists the objects and follows their stream until it ends.
func (c *Client) watchOnce(ctx context.Context, k kind, project string, send func(kube.Snapshot)) error {
	snap := kube.Snapshot{}
	apps, err := c.list(ctx, k, project)
	if err != nil {
		return err
	}
	for _, a := range apps {
		snap[a.GetName()] = a
	}
	send(snap)
	q := url.Values{}
	if project != "" {
		q.Set("projects", project)
	}
	resp, err := c.get(ctx, "/api/v1/stream/"+k.plural, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for lines.Scan() {
		// Each line is {"result": {"type": ..., "application": {...}}}, or
		// {"error": {"message": ...}} when Argo CD ends the stream.
		body, err := decode(bytes.NewReader(lines.Bytes()))
		if err != nil {
			continue
		}
		line, _ := body.(map[string]any)
		if e, ok := line["error"].(map[string]any); ok {
			msg, _ := e["message"].(string)
			err := fmt.Errorf("Argo CD at %s ended the watch: %s", c.server, printers.Redact(msg, c.token))
			if code, _ := e["code"].(int64); code == grpcUnavailable {
				return err // the server going away: watched again
			}
			return &statusError{http.StatusBadRequest, err}
		}
		result, _ := line["result"].(map[string]any)
		obj, _ := result[k.field].(map[string]any)
		app := &unstructured.Unstructured{Object: obj}
		if obj == nil || app.GetName() == "" {
			continue
		}
		if result["type"] == "DELETED" {
			delete(snap, app.GetName())
		} else {
			snap[app.GetName()] = app
		}
		send(snap)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("Argo CD at %s: the watch of %s broke: %v", c.server, k.title, err)
	}
	return fmt.Errorf("Argo CD at %s closed the watch of %s", c.server, k.title)
}
