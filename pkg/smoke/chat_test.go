package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
)

const testKey = "sk-test-9f8e7d6c5b4a39281706"

// server answers /v1/chat/completions with handler, after checking the key.
func server(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func completion(content string) string {
	b, _ := json.Marshal(map[string]any{
		"id": "x", "object": "chat.completion", "model": "m",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
	})
	return string(b)
}

func TestChatProbeVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		stream  bool
		timeout time.Duration
		status  string
		want    string
	}{
		{"200 with content", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+testKey {
				w.WriteHeader(401)
				return
			}
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["max_tokens"].(float64) < 16 {
				w.WriteHeader(400)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, completion("Kubernetes runs containers."))
		}, false, 0, Pass, "HTTP 200 from m"},
		{"200 with empty choices", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"m","choices":[]}`)
		}, false, 0, Fail, "HTTP 200 but choices[0] holds no content"},
		{"200 with blank content", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, completion("   "))
		}, false, 0, Fail, "holds no content"},
		{"401", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":{"message":"bad key %s"}}`, testKey)
		}, false, 0, Fail, "the key was refused (HTTP 401)"},
		{"403", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(403) }, false, 0, Fail, "the key was refused (HTTP 403)"},
		{"500", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			fmt.Fprint(w, `{"error":{"message":"CUDA out of memory"}}`)
		}, false, 0, Fail, "HTTP 500: CUDA out of memory"},
		{"non-JSON body", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "<html>gateway says hi</html>")
		}, false, 0, Fail, "not an OpenAI JSON response"},
		{"stream", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, tok := range []string{"Kube", "rnetes"} {
				fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", tok)
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
		}, true, 0, Pass, "first token after"},
		{"slow stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.(http.Flusher).Flush()
			_ = testwait.Done(r.Context(), "the probe's request") // never sends a token
		}, true, 300 * time.Millisecond, Fail, "within 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := server(t, tc.handler)
			p := &ChatProbe{BaseURL: s.URL, Key: testKey, Model: "m", MaxTokens: 64, Stream: tc.stream, Timeout: tc.timeout}
			rep := p.Run(context.Background())
			if rep.Status != tc.status || !strings.Contains(rep.Message, tc.want) {
				t.Errorf("got %s %q, want %s containing %q", rep.Status, rep.Message, tc.status, tc.want)
			}
			b, _ := json.Marshal(rep)
			if strings.Contains(string(b), testKey) {
				t.Errorf("the key is in the report: %s", b)
			}
		})
	}
}

func TestChatProbeConnectionRefusedNamesTheHop(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	url := s.URL
	s.Close()
	rep := (&ChatProbe{BaseURL: url, Key: testKey, Model: "m", Hop: "port-forward to pod serving/raw-vllm-0:8000"}).Run(context.Background())
	if rep.Status != Fail || !strings.Contains(rep.Message, "connection refused by port-forward to pod serving/raw-vllm-0:8000") {
		t.Errorf("got %q", rep.Message)
	}
}

func TestChatProbeAsksForTheModelWhenNoneGiven(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/models":
			fmt.Fprint(w, `{"object":"list","data":[{"id":"qwen-from-models","object":"model"}]}`)
		default:
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			fmt.Fprint(w, strings.Replace(completion("hi"), `"model":"m"`, fmt.Sprintf(`"model":%q`, body["model"]), 1))
		}
	}))
	defer s.Close()
	rep := (&ChatProbe{BaseURL: s.URL, Key: testKey}).Run(context.Background())
	if rep.Status != Pass || rep.Model != "qwen-from-models" {
		t.Errorf("got %+v", rep)
	}
}
