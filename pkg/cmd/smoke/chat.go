package smoke

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
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

	env *platform.Env // already loaded (smoke run), else loaded from --env/--dir
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
		ValidArgsFunction: c.envFlags.CompleteFirstArg(cli.ChatApps),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.App = args[0]
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(context.Background())
		},
	}
	cmd.Flags().StringVar(&o.URL, "url", "", "Base URL of an OpenAI-compatible API (instead of APP)")
	cmd.Flags().StringVar(&o.KeySecret, "key-secret", "", "Secret holding the key: NAMESPACE/NAME:KEY (default: the app's)")
	cmd.Flags().StringVar(&o.KeyEnv, "key-env", "", "Environment variable holding the key, e.g. OPENAI_API_KEY")
	cmd.Flags().StringVar(&o.Model, "model", "", "Model (default: the first of /v1/models)")
	cmd.Flags().StringVar(&o.Prompt, "prompt", smoke.DefaultPrompt, "The question")
	cmd.Flags().Int64Var(&o.MaxTokens, "max-tokens", 64, "max_tokens (at least 16: reasoning models reject tiny values)")
	cmd.Flags().BoolVar(&o.Stream, "stream", false, "Stream the answer over SSE and measure the time to the first token")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 2*time.Minute, "How long the probe may take")
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
	if o.MaxTokens < 16 {
		return fmt.Errorf("--max-tokens %d: use 16 or more (reasoning models reject tiny values)", o.MaxTokens)
	}
	return printers.ValidateFormat(o.Output, "json", "yaml")
}

// Run probes and prints the verdict.
func (o *ChatOptions) Run(ctx context.Context) error {
	rep, err := chat(ctx, o)
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

// chat resolves the target and the key, opens the port-forward if needed, and
// runs the probe. Setup errors (unknown app, missing Secret) are errors; the
// probe's own outcome is in the report.
func chat(ctx context.Context, o *ChatOptions) (smoke.ChatReport, error) {
	probe := &smoke.ChatProbe{Model: o.Model, Prompt: o.Prompt, MaxTokens: o.MaxTokens, Stream: o.Stream, Timeout: o.Timeout, BaseURL: o.URL}
	if o.Insecure {
		probe.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	keySecret := o.KeySecret
	var target *platform.ChatTarget
	if o.App != "" {
		env := o.env
		if env == nil {
			var err error
			if env, err = o.envFlags.Load(); err != nil {
				return smoke.ChatReport{}, err
			}
		}
		var names []string
		for _, a := range env.Apps {
			if a.Chat == nil {
				continue
			}
			names = append(names, a.Name)
			if a.Name == o.App {
				target = a.Chat
			}
		}
		if target == nil {
			return smoke.ChatReport{}, fmt.Errorf("unknown chat app %q in environment %s (apps with %schat-service: %s)",
				o.App, env.Name, platform.SmokeAnnotationPrefix, strings.Join(names, ", "))
		}
		if keySecret == "" && o.KeyEnv == "" {
			if target.KeySecret == nil {
				return smoke.ChatReport{}, fmt.Errorf("app %s names no key Secret: pass --key-secret or --key-env", o.App)
			}
			keySecret = target.KeySecret.String()
		}
	}
	var client *kube.Client
	if keySecret != "" || target != nil {
		var err error
		if client, err = kube.NewClient(o.kubeFlags); err != nil {
			return smoke.ChatReport{}, err
		}
	}
	key, err := o.key(ctx, client, keySecret)
	if err != nil {
		return smoke.ChatReport{}, err
	}
	probe.Key = key
	if target != nil {
		fctx, cancel := context.WithTimeout(ctx, kube.DefaultRequestTimeout)
		fw, err := client.ForwardService(fctx, target.Service.Namespace, target.Service.Name, target.Port)
		cancel()
		if err != nil {
			return smoke.ChatReport{Status: smoke.Fail, URL: fmt.Sprintf("service %s:%d", target.Service.Namespace+"/"+target.Service.Name, target.Port), Message: err.Error()}, nil
		}
		defer fw.Close()
		probe.BaseURL = fmt.Sprintf("http://127.0.0.1:%d", fw.LocalPort)
		probe.Hop = fmt.Sprintf("port-forward to pod %s:%d (service %s/%s:%d)", fw.Pod, fw.PodPort, target.Service.Namespace, target.Service.Name, target.Port)
	}
	return probe.Run(ctx), nil
}

// key reads the API key from the environment or a Secret, naming where it looked
// when it is not there, and never the value.
func (o *ChatOptions) key(ctx context.Context, client *kube.Client, secret string) (string, error) {
	if o.KeyEnv != "" {
		v := os.Getenv(o.KeyEnv)
		if v == "" {
			return "", fmt.Errorf("--key-env %s: the variable is unset or empty", o.KeyEnv)
		}
		return v, nil
	}
	ref, err := platform.ParseSecretKeyRef(secret)
	if err != nil {
		return "", err
	}
	cs, err := kubernetes.NewForConfig(client.Config)
	if err != nil {
		return "", err
	}
	s, err := cs.CoreV1().Secrets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("Secret %s/%s does not exist (the key for the chat probe)", ref.Namespace, ref.Name)
	}
	if err != nil {
		return "", fmt.Errorf("reading Secret %s/%s: %v", ref.Namespace, ref.Name, client.Explain(err, kube.Kind{Kind: "Secret"}))
	}
	v, ok := s.Data[ref.Key]
	if !ok || len(v) == 0 {
		return "", fmt.Errorf("Secret %s/%s has no key %q", ref.Namespace, ref.Name, ref.Key)
	}
	return strings.TrimSpace(string(v)), nil
}
