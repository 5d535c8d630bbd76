// Command modelstub is the sandbox's stand-in for a vLLM server: the sandbox has no
// GPU and runs no model, so kwok forwards the model pods' port 8000 here. It speaks
// the part of the OpenAI API the chat probe uses (GET /v1/models, POST
// /v1/chat/completions, with and without streaming) and, like vLLM with --api-key,
// refuses any request without the right bearer key.
package main

import (
	"crypto/subtle"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

const model = "Qwen/Qwen2.5-0.5B-Instruct"

func main() {
	addr := flag.String("listen", "127.0.0.1:8000", "address to listen on")
	keyFile := flag.String("api-key-file", "", "file holding the API key clients must send")
	flag.Parse()
	key, err := os.ReadFile(*keyFile)
	if err != nil || len(strings.TrimSpace(string(key))) == 0 {
		log.Fatalf("modelstub: --api-key-file: %v", err)
	}
	want := "Bearer " + strings.TrimSpace(string(key))
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":{"message":"invalid api key","type":"invalid_request_error","code":401}}`)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v1/models", auth(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{"id": model, "object": "model", "owned_by": "sandbox"}}})
	}))
	mux.HandleFunc("POST /v1/chat/completions", auth(chat))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	log.Printf("modelstub: serving %s on %s", model, *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

var answer = []string{"Kubernetes ", "is ", "a ", "system ", "that ", "runs ", "and ", "scales ", "containers."}

func chat(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []any  `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]any{"error": map[string]any{"message": "bad request: messages are required"}})
		return
	}
	id := fmt.Sprintf("chatcmpl-%d", time.Now().UnixNano())
	usage := map[string]any{"prompt_tokens": 12, "completion_tokens": len(answer), "total_tokens": 12 + len(answer)}
	if !req.Stream {
		writeJSON(w, map[string]any{
			"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": strings.Join(answer, "")}}},
			"usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	for _, tok := range answer {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": tok}}}})
	}
	send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": time.Now().Unix(), "model": model, "choices": []any{}, "usage": usage})
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
