package kube

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// discoveryServer answers discovery for the core group, apps and
// leaderworkerset.x-k8s.io (a kind with /scale) and sandbox.aidev.io's
// Notebook (one without), counting the requests.
func discoveryServer(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var seen []string
	resources := map[string][]metav1.APIResource{
		"/api/v1":                           {{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"list"}}},
		"/apis/apps/v1":                     {{Name: "statefulsets", Kind: "StatefulSet", Namespaced: true, Verbs: metav1.Verbs{"list"}}, {Name: "statefulsets/scale", Kind: "Scale", Namespaced: true}},
		"/apis/leaderworkerset.x-k8s.io/v1": {{Name: "leaderworkersets", Kind: "LeaderWorkerSet", Namespaced: true, Verbs: metav1.Verbs{"list"}}, {Name: "leaderworkersets/scale", Kind: "Scale", Namespaced: true}},
		"/apis/sandbox.aidev.io/v1alpha1":   {{Name: "notebooks", Kind: "Notebook", Namespaced: true, Verbs: metav1.Verbs{"list"}}},
	}
	group := func(name, version string) metav1.APIGroup {
		gv := metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + version, Version: version}
		return metav1.APIGroup{Name: name, Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var body any
		switch p := r.URL.Path; {
		case p == "/api":
			body = metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}}
		case p == "/apis":
			body = metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList"}, Groups: []metav1.APIGroup{
				group("apps", "v1"), group("leaderworkerset.x-k8s.io", "v1"), group("sandbox.aidev.io", "v1alpha1")}}
		case resources[p] != nil:
			body = metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList"}, GroupVersion: strings.TrimPrefix(strings.TrimPrefix(p, "/apis/"), "/api/"), APIResources: resources[p]}
		default:
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); out := seen; seen = nil; return out }
}

// A kind is resolved through discovery as kubectl resolves it, cached on
// disk: a second invocation (a new client over the same cache) asks nothing.
func TestScalableKindResolvesThroughDiskCachedDiscovery(t *testing.T) {
	srv, requests := discoveryServer(t)
	cache := t.TempDir()
	client := func() *Client {
		flags := genericclioptions.NewConfigFlags(false)
		flags.APIServer, flags.CacheDir = &srv.URL, &cache
		c, err := NewClient(flags, "test")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	k, err := client().ScalableKind("leaderworkerset.x-k8s.io", "LeaderWorkerSet")
	if err != nil || k.GVR.Resource != "leaderworkersets" || k.GVR.Version != "v1" || !k.Namespaced {
		t.Fatalf("cold: %+v %v", k, err)
	}
	if cold := requests(); len(cold) == 0 {
		t.Fatal("a cold cache asked no discovery")
	}
	if _, err := client().ScalableKind("leaderworkerset.x-k8s.io", "LeaderWorkerSet"); err != nil {
		t.Fatal(err)
	}
	if warm := requests(); len(warm) != 0 {
		t.Errorf("a warm run asked %v", warm)
	}

	c := client()
	if _, err := c.ScalableKind("sandbox.aidev.io", "Notebook"); err == nil ||
		!strings.Contains(err.Error(), "Notebook.sandbox.aidev.io has no /scale subresource") {
		t.Errorf("a kind without /scale: %v", err)
	}
	if _, err := c.ScalableKind("example.com", "Widget"); err == nil ||
		!strings.Contains(err.Error(), "Widget.example.com is not served by "+srv.URL) || !strings.Contains(err.Error(), "is its CRD installed") {
		t.Errorf("an unknown kind: %v", err)
	}
}
