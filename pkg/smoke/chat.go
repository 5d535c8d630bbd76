package smoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// DefaultPrompt asks for a short, checkable answer.
const DefaultPrompt = "Reply with one short sentence: what is Kubernetes?"

// ChatProbe is one authenticated POST /v1/chat/completions.
type ChatProbe struct {
	BaseURL   string // scheme://host:port, without /v1
	Key       string // never printed
	Model     string // empty: the first of /v1/models
	Prompt    string
	MaxTokens int64
	Stream    bool
	Timeout   time.Duration
	Client    *http.Client // TLS settings; nil: the default
	Hop       string       // how the probe reaches the server, for errors ("port-forward to serving/raw-vllm-x:8000")
}

// ChatReport is the probe's verdict, fit for -o json: it never holds the key.
type ChatReport struct {
	Status           string `json:"status"` // PASS or FAIL
	URL              string `json:"url"`
	Via              string `json:"via,omitempty"`
	HTTPStatus       int    `json:"httpStatus,omitempty"`
	Model            string `json:"model,omitempty"`
	LatencyMillis    int64  `json:"latencyMillis,omitempty"`
	TTFTMillis       int64  `json:"timeToFirstTokenMillis,omitempty"`
	PromptTokens     int64  `json:"promptTokens,omitempty"`
	CompletionTokens int64  `json:"completionTokens,omitempty"`
	Answer           string `json:"answer,omitempty"`
	Message          string `json:"message"`
}

// Run sends the probe and judges it: PASS only on HTTP 200 with non-empty content
// in choices[0].
func (p *ChatProbe) Run(ctx context.Context) ChatReport {
	r := ChatReport{Status: Fail, URL: strings.TrimSuffix(p.BaseURL, "/") + "/v1/chat/completions", Via: p.Hop}
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	opts := []option.RequestOption{
		option.WithBaseURL(strings.TrimSuffix(p.BaseURL, "/") + "/v1/"),
		option.WithAPIKey(p.Key),
		option.WithMaxRetries(0),
	}
	if p.Client != nil {
		opts = append(opts, option.WithHTTPClient(p.Client))
	}
	client := openai.NewClient(opts...)
	model := p.Model
	if model == "" {
		models, err := client.Models.List(ctx)
		if err != nil {
			p.explain(&r, err, "GET /v1/models")
			return r
		}
		if len(models.Data) == 0 {
			r.HTTPStatus = http.StatusOK
			r.Message = "GET /v1/models lists no model: pass --model"
			return r
		}
		model = models.Data[0].ID
	}
	r.Model = model
	params := openai.ChatCompletionNewParams{
		Model:     model,
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage(p.prompt())},
		MaxTokens: openai.Int(p.maxTokens()),
	}
	start := time.Now()
	if p.Stream {
		p.stream(ctx, &client, params, &r, start)
		return r
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	r.LatencyMillis = time.Since(start).Milliseconds()
	if err != nil {
		p.explain(&r, err, "POST /v1/chat/completions")
		return r
	}
	r.HTTPStatus = http.StatusOK
	r.PromptTokens, r.CompletionTokens = resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	if resp.Model != "" {
		r.Model = resp.Model
	}
	if len(resp.Choices) == 0 || strings.TrimSpace(resp.Choices[0].Message.Content) == "" {
		r.Message = "HTTP 200 but choices[0] holds no content"
		return r
	}
	r.Answer = clip(resp.Choices[0].Message.Content, 200)
	r.Status, r.Message = Pass, fmt.Sprintf("HTTP 200 from %s in %d ms, %d completion tokens", r.Model, r.LatencyMillis, r.CompletionTokens)
	return r
}

func (p *ChatProbe) stream(ctx context.Context, client *openai.Client, params openai.ChatCompletionNewParams, r *ChatReport, start time.Time) {
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := client.Chat.Completions.NewStreaming(ctx, params)
	defer s.Close()
	var answer strings.Builder
	for s.Next() {
		chunk := s.Current()
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			if answer.Len() == 0 {
				r.TTFTMillis = time.Since(start).Milliseconds()
			}
			answer.WriteString(chunk.Choices[0].Delta.Content)
		}
		if chunk.Usage.CompletionTokens > 0 {
			r.PromptTokens, r.CompletionTokens = chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens
		}
		if chunk.Model != "" {
			r.Model = chunk.Model
		}
	}
	r.LatencyMillis = time.Since(start).Milliseconds()
	if err := s.Err(); err != nil {
		p.explain(r, err, "POST /v1/chat/completions (stream)")
		return
	}
	r.HTTPStatus = http.StatusOK
	if strings.TrimSpace(answer.String()) == "" {
		r.Message = "HTTP 200 but the stream carried no content"
		return
	}
	r.Answer = clip(answer.String(), 200)
	r.Status = Pass
	r.Message = fmt.Sprintf("HTTP 200 from %s: first token after %d ms, done in %d ms", r.Model, r.TTFTMillis, r.LatencyMillis)
}

func (p *ChatProbe) prompt() string {
	if p.Prompt == "" {
		return DefaultPrompt
	}
	return p.Prompt
}

func (p *ChatProbe) maxTokens() int64 {
	if p.MaxTokens < 16 { // reasoning models reject tiny budgets
		return 64
	}
	return p.MaxTokens
}

// explain sets the report's message from an error: which hop failed, or what the
// server said; the key is removed from anything the server echoed.
func (p *ChatProbe) explain(r *ChatReport, err error, call string) {
	where := r.URL
	if p.Hop != "" {
		where = p.Hop
	}
	var apiErr *openai.Error
	var syntaxErr *json.SyntaxError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		r.HTTPStatus = apiErr.StatusCode
		switch apiErr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			r.Message = fmt.Sprintf("%s: the key was refused (HTTP %d)", call, apiErr.StatusCode)
		default:
			detail := apiErr.Message
			if detail == "" {
				detail = clip(apiErr.RawJSON(), 200)
			}
			r.Message = fmt.Sprintf("%s: HTTP %d: %s", call, apiErr.StatusCode, detail)
		}
	case errors.As(err, &syntaxErr), strings.Contains(err.Error(), "invalid character"):
		r.Message = fmt.Sprintf("%s: the answer is not an OpenAI JSON response: %v", call, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		r.Message = fmt.Sprintf("%s: connection refused by %s (nothing listens there: is the server up?)", call, where)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		r.Message = fmt.Sprintf("%s: no answer from %s within %s", call, where, p.Timeout)
	default:
		r.Message = fmt.Sprintf("%s via %s: %v", call, where, err)
	}
	r.Message = printers.Redact(r.Message, p.Key)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
