// Package resttest is a fake of Argo CD's HTTP API for tests: Applications
// (list and stream), version, userinfo and can-i, behind a bearer token.
package resttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Token is the only token the fake takes.
const Token = "fake-argocd-token-7f3a9c1e"

// Server is the fake. Apps are served as they are; Send streams an event to
// every open watch; CanI answers "yes" for its keys ("action object").
type Server struct {
	*httptest.Server
	User string
	CanI map[string]bool
	// Watching receives once each time a watch stream is open and has sent
	// its initial apps: events sent after that reach it.
	Watching chan struct{}
	// Projects are the AppProjects that exist ("platform" at the start).
	Projects map[string]bool
	// RepoErr, when set, is what the repo-server answers a request for a
	// repository's refs (else it lists branch main of any repository).
	RepoErr string
	// Resources are the live objects the apps manage, by "app kind namespace/name".
	Resources map[string]*unstructured.Unstructured

	mu       sync.Mutex
	apps     map[string]*unstructured.Unstructured
	watchers []chan []byte
}

// New starts a fake holding apps; it stops with the test.
func New(t *testing.T, apps ...*unstructured.Unstructured) *Server {
	s := &Server{User: "oncall", CanI: map[string]bool{}, Watching: make(chan struct{}, 16), apps: map[string]*unstructured.Unstructured{},
		Projects: map[string]bool{"platform": true}, Resources: map[string]*unstructured.Unstructured{}}
	for _, a := range apps {
		s.apps[a.GetName()] = a
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Host is the address to pass as --server (with --plaintext).
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

// Send sets an app (or deletes it, for DELETED) and streams the event.
func (s *Server) Send(eventType string, app *unstructured.Unstructured) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if eventType == "DELETED" {
		delete(s.apps, app.GetName())
	} else {
		s.apps[app.GetName()] = app
	}
	line, _ := json.Marshal(map[string]any{"result": map[string]any{"type": eventType, "application": app.Object}})
	for _, w := range s.watchers {
		w <- append(line, '\n')
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid session: token is malformed","code":16,"message":"invalid session: token is malformed"}`))
		return
	}
	switch {
	case r.URL.Path == "/api/version":
		writeJSON(w, map[string]string{"Version": "v3.6.1"})
	case r.URL.Path == "/api/v1/session/userinfo":
		writeJSON(w, map[string]any{"loggedIn": true, "username": s.User})
	case strings.HasPrefix(r.URL.Path, "/api/v1/account/can-i/"):
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/api/v1/account/can-i/"), "/", 3)
		value := "no"
		if len(parts) == 3 && s.CanI[parts[1]+" "+parts[2]] {
			value = "yes"
		}
		writeJSON(w, map[string]string{"value": value})
	case r.URL.Path == "/api/v1/applications":
		s.mu.Lock()
		var items []any
		for _, a := range s.apps {
			items = append(items, a.Object)
		}
		s.mu.Unlock()
		writeJSON(w, map[string]any{"items": items})
	case r.URL.Path == "/api/v1/stream/applications":
		s.stream(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/v1/projects/"):
		if !s.Projects[strings.TrimPrefix(r.URL.Path, "/api/v1/projects/")] {
			writeError(w, http.StatusNotFound, "appproject not found")
			return
		}
		writeJSON(w, map[string]any{"metadata": map[string]any{"name": strings.TrimPrefix(r.URL.Path, "/api/v1/projects/")}})
	case strings.HasPrefix(r.URL.Path, "/api/v1/repositories/") && strings.HasSuffix(r.URL.Path, "/refs"):
		if s.RepoErr != "" {
			writeError(w, http.StatusInternalServerError, s.RepoErr)
			return
		}
		writeJSON(w, map[string]any{"branches": []string{"main"}})
	case strings.HasPrefix(r.URL.Path, "/api/v1/applications/") && strings.HasSuffix(r.URL.Path, "/resource"):
		app := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v1/applications/"), "/resource")
		q := r.URL.Query()
		key := app + " " + q.Get("kind") + " " + q.Get("namespace") + "/" + q.Get("resourceName")
		s.mu.Lock()
		obj, ok := s.Resources[key]
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, key+" not found as part of application "+app)
			return
		}
		manifest, _ := json.Marshal(obj.Object)
		writeJSON(w, map[string]string{"manifest": string(manifest)})
	default:
		http.NotFound(w, r)
	}
}

// stream sends every app as ADDED, then each event, until the client goes.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	events := make(chan []byte, 64)
	s.mu.Lock()
	for _, a := range s.apps {
		line, _ := json.Marshal(map[string]any{"result": map[string]any{"type": "ADDED", "application": a.Object}})
		events <- append(line, '\n')
	}
	s.watchers = append(s.watchers, events)
	s.mu.Unlock()
	// A stream that ended gets no more events: Send would fill its buffer
	// and then block.
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.watchers = slices.DeleteFunc(s.watchers, func(c chan []byte) bool { return c == events })
	}()
	select {
	case s.Watching <- struct{}{}:
	case <-r.Context().Done(): // a test that stopped reading Watching holds no stream open
		return
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	for {
		select {
		case line := <-events:
			if _, err := w.Write(line); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-r.Context().Done():
			return
		}
	}
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// App is an Application with a sync and health status, and the layer label
// group apps carry.
func App(name, sync, health string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": "argocd", "generation": int64(3)},
		"spec":     map[string]any{"project": "platform"},
		"status":   map[string]any{"sync": map[string]any{"status": sync}, "health": map[string]any{"status": health}},
	}}
}
