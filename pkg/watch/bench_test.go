package watch

import (
	"context"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// scaleGate is a gated Application over Deployment serving/<name>, open
// since an hour with a lease ending at expires (none when zero).
func scaleGate(name string, now, expires time.Time) (*unstructured.Unstructured, *unstructured.Unstructured) {
	ann := map[string]any{
		"costgate.aidev.io/gate": "scale", "costgate.aidev.io/target": "Deployment/serving/" + name,
		"costgate.aidev.io/cost-per-hour": "0.70", costgate.OpenedAtAnnotation: now.Add(-time.Hour).UTC().Format(time.RFC3339),
	}
	if !expires.IsZero() {
		ann[costgate.ExpiresAtAnnotation] = expires.UTC().Format(time.RFC3339Nano)
	}
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": "argocd", "annotations": ann},
		"spec": map[string]any{"project": "platform", "destination": map[string]any{"namespace": "serving"},
			"ignoreDifferences": []any{map[string]any{"group": "apps", "kind": "Deployment", "name": name, "jsonPointers": []any{"/spec/replicas"}}}},
		"status": map[string]any{"sync": map[string]any{"status": "Synced"}, "health": map[string]any{"status": "Healthy"}},
	}}
	return app, deployment("serving", name, 1)
}

// plainApp is an Application that is not a gate.
func plainApp(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": "argocd", "labels": map[string]any{"team": "platform"}},
		"spec": map[string]any{"project": "platform", "destination": map[string]any{"namespace": "apps", "server": "https://kubernetes.default.svc"},
			"source":     map[string]any{"repoURL": "https://git.example.com/platform.git", "path": "apps/" + name, "targetRevision": "HEAD"},
			"syncPolicy": map[string]any{"automated": map[string]any{"prune": true, "selfHeal": true}}},
		"status": map[string]any{"sync": map[string]any{"status": "Synced"}, "health": map[string]any{"status": "Healthy"}},
	}}
}

// BenchmarkLeaseReaction: 20 gates whose leases end 50 ms apart, on the wall
// clock, over the fake API server: from each lease's end to the write that
// closes it (the /scale patch). Reports the median and the worst.
func BenchmarkLeaseReaction(b *testing.B) {
	var all []time.Duration
	for range b.N {
		now := time.Now()
		var objs []runtime.Object
		ends := map[string]time.Time{}
		for i := range 20 {
			name := fmt.Sprintf("gpu-%02d", i)
			ends[name] = now.Add(500*time.Millisecond + time.Duration(i)*50*time.Millisecond)
			app, d := scaleGate(name, now, ends[name])
			objs = append(objs, app, d)
		}
		f := kubetest.NewClient(objs...)
		var mu sync.Mutex
		closedAt := map[string]time.Time{}
		done := make(chan struct{}, 1)
		f.Dynamic.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() == "scale" {
				mu.Lock()
				if _, seen := closedAt[a.(k8stesting.PatchAction).GetName()]; !seen {
					closedAt[a.(k8stesting.PatchAction).GetName()] = time.Now()
					if len(closedAt) == 20 {
						done <- struct{}{}
					}
				}
				mu.Unlock()
			}
			return false, nil, nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		w := New(Config{Client: f.Client, ArgoNamespace: "argocd", Host: platform.HostKubectl, Clock: clock.RealClock{}})
		stopped := make(chan error, 1)
		go func() { stopped <- w.Run(ctx) }()
		testwait.Recv(b, done, "the 20 gates to close")
		cancel()
		testwait.Recv(b, stopped, "the watcher to stop")
		for name, at := range closedAt {
			all = append(all, at.Sub(ends[name]))
		}
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "ms-worst")
}

// BenchmarkWatcherFootprint: 2,000 Applications of which 200 are gates,
// listed and watched; the heap in use once they are all decided, and the
// CPU it spends idle over two seconds after that. The fake API server's own
// copies of the objects are in the same heap: the watcher alone takes less.
func BenchmarkWatcherFootprint(b *testing.B) {
	for range b.N {
		now := time.Now()
		var objs []runtime.Object
		for i := range 2000 {
			name := fmt.Sprintf("app-%04d", i)
			if i%10 == 0 {
				app, d := scaleGate(name, now, time.Time{})
				objs = append(objs, app, d)
				continue
			}
			objs = append(objs, plainApp(name))
		}
		goruntime.GC()
		var before goruntime.MemStats
		goruntime.ReadMemStats(&before)
		f := kubetest.NewClient(objs...)
		decided := make(chan Decision, 4096)
		w := New(Config{Client: f.Client, ArgoNamespace: "argocd", Host: platform.HostKubectl, Clock: clock.RealClock{},
			Decided: func(d Decision) { decided <- d }})
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- w.Run(ctx) }()
		seen := map[string]bool{}
		for len(seen) < 200 {
			seen[testwait.Recv(b, decided, "the 200 gates to be decided").App] = true
		}
		goruntime.GC()
		var after goruntime.MemStats
		goruntime.ReadMemStats(&after)
		<-time.After(2 * time.Second) // the target informers' first lists settle
		cpu0 := cpuTime()
		idle := time.Now()
		<-time.After(2 * time.Second) // idle on purpose: what it costs doing nothing
		idleCPU := (cpuTime() - cpu0).Seconds() / time.Since(idle).Seconds()
		cancel()
		testwait.Recv(b, stopped, "the watcher to stop")
		b.ReportMetric(float64(after.HeapInuse)/(1<<20), "MiB-heap")
		b.ReportMetric(float64(after.HeapInuse-min(after.HeapInuse, before.HeapInuse))/(1<<20), "MiB-heap-added")
		b.ReportMetric(idleCPU*100, "%cpu-idle")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
