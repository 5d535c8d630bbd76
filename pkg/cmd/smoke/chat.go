package smoke

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke"
)

// ChatOptions probes the chat API.
type ChatOptions struct {
	*common
	App       string
	URL       string
	KeySecret string
	KeyEnv    string
	Model     string
	Prompt    string
	MaxTokens int64
	Stream    bool
	Timeout   time.Duration
	Insecure  bool
	Output    string
}

func newCmdChat(c *common) *cobra.Command {
	o := &ChatOptions{common: c}
	cmd := &cobra.Command{
		Use:   "chat [APP | --url URL]",
		Short: "Send an authenticated POST /v1/chat/completions and expect HTTP 200 with an answer",
		Long: `Reaches APP's Service (from the catalog's smoke.aidev.io/chat-service) through a
port-forward the plugin opens itself through the API server, or --url (a gateway such as
LiteLLM), and sends one chat completion with the key from --key-env, --key-secret, or the
app's smoke.aidev.io/key-secret. The key is never printed. PASS only on HTTP 200 with
content in choices[0]; --stream measures the time to the first token.`,
		Example: `  kubectl smoke chat raw-vllm --env ai-dev
  kubectl smoke chat raw-vllm --env ai-dev --stream -o json
  kubectl smoke chat --url https://litellm.example.com --key-env LITELLM_API_KEY --model qwen`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: c.EnvFlags.CompleteFirstArg(cli.ChatApps),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.App = args[0]
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.URL, "url", "", "Base URL of an OpenAI-compatible API (instead of APP)")
	cmd.Flags().StringVar(&o.KeySecret, "key-secret", "", "Secret holding the key: NAMESPACE/NAME:KEY (default: the app's)")
	cmd.Flags().StringVar(&o.KeyEnv, "key-env", "", "Environment variable holding the key, e.g. OPENAI_API_KEY")
	cmd.Flags().StringVar(&o.Model, "model", "", "Model (default: the first of /v1/models)")
	cmd.Flags().StringVar(&o.Prompt, "prompt", smoke.DefaultPrompt, "The question")
	cmd.Flags().Int64Var(&o.MaxTokens, "max-tokens", smoke.DefaultMaxTokens, "max_tokens (at least 16: reasoning models reject tiny values)")
	cmd.Flags().BoolVar(&o.Stream, "stream", false, "Stream the answer over SSE and measure the time to the first token")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", smoke.DefaultChatTimeout, "How long the probe may take")
	cmd.Flags().BoolVar(&o.Insecure, "url-insecure-skip-tls-verify", false, "Do not verify the --url server's certificate (kubectl's --insecure-skip-tls-verify is for the API server)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// Validate checks the flags before anything is sent.
func (o *ChatOptions) Validate() error {
	if (o.App == "") == (o.URL == "") {
		return fmt.Errorf("chat takes an APP or --url, not both and not neither")
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--url %q: want http(s)://host[:port]", o.URL)
		}
		if o.KeyEnv == "" && o.KeySecret == "" {
			return fmt.Errorf("--url needs a key: --key-env VAR or --key-secret NAMESPACE/NAME:KEY")
		}
	}
	if o.KeySecret != "" {
		if _, err := platform.ParseSecretKeyRef(o.KeySecret); err != nil {
			return fmt.Errorf("--key-secret: %v", err)
		}
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", o.Timeout)
	}
	if o.MaxTokens < 16 {
		return fmt.Errorf("--max-tokens %d: use 16 or more (reasoning models reject tiny values)", o.MaxTokens)
	}
	return printers.ValidateFormat(o.Output, "json", "yaml")
}

// Run probes and prints the verdict.
func (o *ChatOptions) Run(ctx context.Context) error {
	var env *platform.Env
	if o.App != "" {
		var err error
		if env, err = o.Env(); err != nil {
			return err
		}
	}
	rep, err := o.chat(env).Run(ctx)
	if err != nil {
		return err
	}
	if o.Output != "" {
		if err := printers.Data(o.Out, o.Output, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.Out, "%s %s\n", rep.Status, rep.Message)
		fmt.Fprintf(o.Out, "  url: %s\n", rep.URL)
		if rep.Via != "" {
			fmt.Fprintf(o.Out, "  via: %s\n", rep.Via)
		}
		if rep.Model != "" {
			fmt.Fprintf(o.Out, "  model: %s, latency %d ms, tokens %d prompt + %d completion\n", rep.Model, rep.LatencyMillis, rep.PromptTokens, rep.CompletionTokens)
		}
		if rep.Answer != "" {
			fmt.Fprintf(o.Out, "  answer: %s\n", rep.Answer)
		}
	}
	if rep.Status != smoke.Pass {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("chat probe failed")}
	}
	return nil
}

// chat is the probe these options describe.
func (o *ChatOptions) chat(env *platform.Env) smoke.Chat {
	return smoke.Chat{
		Env: env, App: o.App, URL: o.URL, KeySecret: o.KeySecret, KeyEnv: o.KeyEnv,
		Model: o.Model, Prompt: o.Prompt, MaxTokens: o.MaxTokens, Stream: o.Stream,
		Timeout: o.Timeout, Insecure: o.Insecure,
		// The app's Service and its key Secret are where the workloads run
		// (the spoke, when a hub deploys the environment).
		Client: o.WorkloadClient, Getenv: o.Getenv, Forward: o.Forward,
	}
}
