package gates

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/test/sandbox"
)

var modelGVR = schema.GroupVersionResource{Group: "sandbox.aidev.io", Version: "v1alpha1", Resource: "models"}

// Gates over workloads other than Deployments (the sandbox's StatefulSet
// vector-store and its own scalable custom resource batch-embedder), and the
// leases and uptime windows that close what nobody closed. Runs after
// TestCostgateLifecycle (file order), on the same platform.
func TestGatesOverAnyScalableWorkload(t *testing.T) {
	s := sandbox.Need(t, sb)
	clusters := fullPlatform(t, s)
	plugin := func(dir string, args ...string) sandbox.Result {
		t.Helper()
		return s.Plugin(t, 3*time.Minute, "kubectl-costgate", append(args, "--env", "sandbox", "--dir", dir)...)
	}
	costgate := func(args ...string) sandbox.Result { t.Helper(); return plugin(clusters, args...) }
	ctx := context.Background()
	apps := s.Dynamic.Resource(sandbox.ApplicationGVR).Namespace(sandbox.ArgoCDNamespace)
	record := func(app string) map[string]string {
		t.Helper()
		a, err := apps.Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return gateRecord(a.GetAnnotations())
	}
	statefulSets := s.Kube.AppsV1().StatefulSets("embeddings")
	vectorStore := func() int32 {
		t.Helper()
		sts, err := statefulSets.Get(ctx, "vector-store", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *sts.Spec.Replicas
	}
	readyPods := func() (ready, all int) {
		t.Helper()
		pods, err := s.Kube.CoreV1().Pods("embeddings").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=vector-store"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if podReady(p) {
				ready++
			}
		}
		return ready, len(pods.Items)
	}
	models := s.Dynamic.Resource(modelGVR).Namespace("embeddings")
	modelReplicas := func() int64 {
		t.Helper()
		m, err := models.Get(ctx, "batch-embedder", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, _, _ := unstructured.NestedInt64(m.Object, "spec", "replicas")
		return n
	}
	review, err := s.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	me := review.Status.UserInfo.Username

	t.Run("a StatefulSet gate opens and closes through /scale, recording who and until when", func(t *testing.T) {
		if r := costgate("sync", "vector-store"); r.Code != 0 || vectorStore() != 0 {
			t.Fatalf("sync vector-store: replicas %d: %s", vectorStore(), r)
		}
		before := time.Now()
		r := costgate("up", "vector-store", "--reason", "index rebuild")
		if r.Code != 0 || !strings.Contains(r.Stdout, "StatefulSet/embeddings/vector-store 0 -> 2") || !strings.Contains(r.Stdout, "vector-store: up") {
			t.Fatalf("up: %s", r)
		}
		if ready, all := readyPods(); ready != 2 || all != 2 {
			t.Fatalf("after up: %d of %d pods Ready, want 2 of 2", ready, all)
		}
		rec := record("vector-store")
		expires, err := time.Parse(time.RFC3339, rec["costgate.aidev.io/expires-at"])
		if err != nil || rec["costgate.aidev.io/opened-by"] != me || rec["costgate.aidev.io/open-reason"] != "index rebuild" ||
			expires.Before(before.Add(8*time.Hour-time.Minute)) || expires.After(time.Now().Add(8*time.Hour)) {
			t.Errorf("the record of an up without --for (max-open 8h): %v", rec)
		}
		list := costgate("list")
		if list.Code != 0 || !strings.Contains(list.Stdout, me) || !strings.Contains(list.Stdout, "OPENED BY") || !strings.Contains(list.Stdout, "in 7h5") {
			t.Errorf("list names the opener and the lease: %s", list)
		}
		for i, l := range strings.Split(list.Stdout, "\n") { // as a person reads it, in a 120-column terminal
			if n := utf8.RuneCountInString(l); n > 120 {
				t.Errorf("list line %d is %d columns wide: %q", i, n, l)
			}
		}
		if wide := costgate("list", "-o", "wide"); !strings.Contains(wide.Stdout, "StatefulSet/embeddings/vector-store") || !strings.Contains(wide.Stdout, "index rebuild") {
			t.Errorf("list -o wide names the target and why it is open: %s", wide)
		}
		r = costgate("down", "vector-store")
		if r.Code != 0 || !strings.Contains(r.Stdout, "2 -> 0") || !strings.Contains(r.Stdout, "vector-store: down") {
			t.Fatalf("down: %s", r)
		}
		if _, all := readyPods(); all != 0 || vectorStore() != 0 {
			t.Errorf("down returned with %d pods, %d replicas", all, vectorStore())
		}
		if rec := record("vector-store"); rec["costgate.aidev.io/previous-replicas"] != "2" || rec["costgate.aidev.io/opened-by"] != "" || rec["costgate.aidev.io/expires-at"] != "" {
			t.Errorf("down remembers the count and clears the lease: %v", rec)
		}
	})

	t.Run("the StatefulSet gate in server mode, through Argo CD", func(t *testing.T) {
		token, err := s.ArgoCDToken()
		if err != nil {
			t.Fatal(err)
		}
		server := []string{"--argocd-server", s.Env["ARGOCD_SERVER"], "--plaintext", "--auth-token", token}
		r := costgate(append([]string{"up", "vector-store", "--for", "1h"}, server...)...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "0 -> 2") || vectorStore() != 2 {
			t.Fatalf("server-mode up: replicas %d: %s", vectorStore(), r)
		}
		if ready, _ := readyPods(); ready != 2 {
			t.Errorf("server-mode up returned with %d Ready pods", ready)
		}
		if rec := record("vector-store"); rec["costgate.aidev.io/opened-by"] != "admin" {
			t.Errorf("the Argo CD user opened it: %v", rec)
		}
		if r := costgate(append([]string{"down", "vector-store"}, server...)...); r.Code != 0 || vectorStore() != 0 {
			t.Fatalf("server-mode down: replicas %d: %s", vectorStore(), r)
		}
		if _, all := readyPods(); all != 0 {
			t.Errorf("server-mode down returned with %d pods", all)
		}
	})

	t.Run("a custom resource's /scale", func(t *testing.T) {
		if r := costgate("sync", "batch-embedder"); r.Code != 0 || modelReplicas() != 0 {
			t.Fatalf("sync batch-embedder: %s", r)
		}
		// --for: its uptime window (working hours in Berlin) may exclude now.
		r := costgate("up", "batch-embedder", "--for", "10m", "--wait=false")
		if r.Code != 0 || !strings.Contains(r.Stdout, "Model.sandbox.aidev.io/embeddings/batch-embedder 0 -> 1") || modelReplicas() != 1 {
			t.Fatalf("up: replicas %d: %s", modelReplicas(), r)
		}
		// Nothing runs Models here: it is open and not ready, and costs.
		list := costgate("list", "-o", "json")
		if list.Code != 0 || !strings.Contains(list.Stdout, `"target": "Model.sandbox.aidev.io/embeddings/batch-embedder"`) {
			t.Errorf("list: %s", list)
		}
		if r := costgate("down", "batch-embedder"); r.Code != 0 || modelReplicas() != 0 || !strings.Contains(r.Stdout, "batch-embedder: down") {
			t.Fatalf("down: replicas %d: %s", modelReplicas(), r)
		}
	})

	t.Run("idle closes a gate whose lease ran out, without Prometheus", func(t *testing.T) {
		r := costgate("up", "vector-store", "--for", "5s", "--wait=false")
		if r.Code != 0 || vectorStore() != 2 {
			t.Fatalf("up --for 5s: %s", r)
		}
		expires, err := time.Parse(time.RFC3339, record("vector-store")["costgate.aidev.io/expires-at"])
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, func() bool { return time.Now().After(expires) })
		// A Prometheus nobody answers at: the lease needs none.
		r = costgate("idle", "--prometheus-url", "http://127.0.0.1:1")
		if !strings.Contains(r.Stdout, "closed vector-store (StatefulSet/embeddings/vector-store): lease ran out at "+expires.UTC().Format(time.RFC3339)+" (opened by "+me+"), saving $0.12 per hour") {
			t.Fatalf("idle: %s", r)
		}
		if vectorStore() != 0 {
			t.Errorf("idle left vector-store at %d replicas", vectorStore())
		}
		if r := costgate("down", "vector-store"); r.Code != 0 { // waits for the pods to go
			t.Fatal(r)
		}
	})

	t.Run("outside its uptime window idle closes a gate nobody leased", func(t *testing.T) {
		// A window that excludes now, whatever the time: an hour, twelve hours away.
		start := (time.Now().UTC().Hour() + 12) % 24
		window := fmt.Sprintf("Mon-Sun %02d:00-%02d:00 UTC", start, start+1)
		dir := copyClusters(t, clusters, "embeddings/batch-embedder.yaml", `"Mon-Fri 07:00-20:00 Europe/Berlin"`, `"`+window+`"`)
		m0, _ := models.Get(ctx, "batch-embedder", metav1.GetOptions{})
		if r := plugin(dir, "up", "batch-embedder", "--wait=false"); r.Code != 1 || !strings.Contains(r.Stderr, "batch-embedder is outside its uptime window") ||
			!strings.Contains(r.Stderr, "pass --for DURATION") {
			t.Errorf("up outside the window without --for: %s", r)
		}
		if m1, _ := models.Get(ctx, "batch-embedder", metav1.GetOptions{}); m1.GetResourceVersion() != m0.GetResourceVersion() {
			t.Error("a refused up wrote to the Model")
		}
		// Opened by hand (kubectl scale): no lease holds it open.
		if _, err := models.Patch(ctx, "batch-embedder", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}, "scale"); err != nil {
			t.Fatal(err)
		}
		r := plugin(dir, "idle", "--prometheus-url", "http://127.0.0.1:1")
		if !strings.Contains(r.Stdout, fmt.Sprintf("closed batch-embedder (Model.sandbox.aidev.io/embeddings/batch-embedder): outside its uptime window %q", window)) || modelReplicas() != 0 {
			t.Fatalf("idle outside the window: replicas %d: %s", modelReplicas(), r)
		}
	})

	t.Run("a lease above max-open is refused and writes nothing", func(t *testing.T) {
		a0, _ := apps.Get(ctx, "vector-store", metav1.GetOptions{})
		r := costgate("up", "vector-store", "--for", "9h")
		if r.Code != 1 || !strings.Contains(r.Stderr, "--for 9h0m0s is above vector-store's max-open of 8h0m0s") {
			t.Errorf("up --for 9h: %s", r)
		}
		if a1, _ := apps.Get(ctx, "vector-store", metav1.GetOptions{}); fmt.Sprint(gateRecord(a1.GetAnnotations())) != fmt.Sprint(gateRecord(a0.GetAnnotations())) || vectorStore() != 0 {
			t.Error("a refused up wrote")
		}
	})
}

// copyClusters copies the clusters tree and replaces old with new in one of
// the sandbox's catalog files (catalog/<rel>), the way a team edits its tree.
func copyClusters(t *testing.T, clusters, rel, old, new string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clusters")
	if err := os.CopyFS(dir, os.DirFS(clusters)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sandbox", "catalog", rel)
	data, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %s: %v", file, old, err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
