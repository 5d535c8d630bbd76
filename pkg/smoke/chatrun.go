package smoke

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// The chat probe's defaults, for `smoke chat` flags and `smoke run` alike.
const (
	DefaultMaxTokens   = 64
	DefaultChatTimeout = 2 * time.Minute
)

// Chat is one chat probe to set up and run: an app of the environment reached
// through a port-forward, or a URL; the key from an environment variable or a
// Secret.
type Chat struct {
	Env       *platform.Env // the environment App is looked up in
	App       string        // an app with smoke.aidev.io/chat-service, or ""
	URL       string        // an OpenAI-compatible base URL instead of App
	KeySecret string        // NAMESPACE/NAME:KEY; default the app's
	KeyEnv    string        // an environment variable holding the key
	Model     string
	Prompt    string
	MaxTokens int64
	Stream    bool
	Timeout   time.Duration
	Insecure  bool // do not verify the URL's certificate

	// Client gives the cluster client when one is needed (a Secret or a
	// port-forward); a --url probe with --key-env never builds one.
	Client func() (*kube.Client, error)
	// Getenv reads KeyEnv (os.Getenv in a process).
	Getenv func(string) string
	// Forward opens the port-forward to a Service (nil: the client's
	// ForwardService through the API server).
	Forward func(ctx context.Context, c *kube.Client, namespace, service string, port int32) (*kube.Forward, error)
}

// NewChat is a Chat with the defaults.
func NewChat() Chat {
	return Chat{Prompt: DefaultPrompt, MaxTokens: DefaultMaxTokens, Timeout: DefaultChatTimeout}
}

// Run resolves the target and the key, opens the port-forward if needed, and runs
// the probe. Setup errors (unknown app, missing Secret) are errors; the probe's
// own outcome, including a port-forward that cannot open, is in the report.
func (c Chat) Run(ctx context.Context) (ChatReport, error) {
	probe := &ChatProbe{Model: c.Model, Prompt: c.Prompt, MaxTokens: c.MaxTokens, Stream: c.Stream, Timeout: c.Timeout, BaseURL: c.URL}
	if c.Insecure {
		probe.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	keySecret := c.KeySecret
	var target *platform.ChatTarget
	if c.App != "" {
		var err error
		if target, err = ChatTargetOf(c.Env, c.App); err != nil {
			return ChatReport{}, err
		}
		if keySecret == "" && c.KeyEnv == "" {
			if target.KeySecret == nil {
				return ChatReport{}, fmt.Errorf("app %s names no key Secret: pass --key-secret or --key-env", c.App)
			}
			keySecret = target.KeySecret.String()
		}
	}
	var client *kube.Client
	if c.KeyEnv == "" || target != nil {
		var err error
		if client, err = c.Client(); err != nil {
			return ChatReport{}, err
		}
	}
	key, err := c.key(ctx, client, keySecret)
	if err != nil {
		return ChatReport{}, err
	}
	probe.Key = key
	if target != nil {
		forward := c.Forward
		if forward == nil {
			forward = func(ctx context.Context, cl *kube.Client, ns, svc string, port int32) (*kube.Forward, error) {
				return cl.ForwardService(ctx, ns, svc, port)
			}
		}
		svc := target.Service
		fctx, cancel := context.WithTimeout(ctx, kube.DefaultRequestTimeout)
		fw, err := forward(fctx, client, svc.Namespace, svc.Name, target.Port)
		cancel()
		if err != nil {
			return ChatReport{Status: Fail, URL: fmt.Sprintf("service %s/%s:%d", svc.Namespace, svc.Name, target.Port), Message: "port-forward: " + err.Error()}, nil
		}
		defer fw.Close()
		probe.BaseURL = fmt.Sprintf("http://127.0.0.1:%d", fw.LocalPort)
		probe.Hop = fmt.Sprintf("port-forward to pod %s:%d (service %s/%s:%d)", fw.Pod, fw.PodPort, svc.Namespace, svc.Name, target.Port)
	}
	return probe.Run(ctx), nil
}

// ChatTargetOf finds an app's chat target, or says which apps have one.
func ChatTargetOf(env *platform.Env, app string) (*platform.ChatTarget, error) {
	var names []string
	for _, a := range env.Apps {
		if a.Chat == nil {
			continue
		}
		if a.Name == app {
			return a.Chat, nil
		}
		names = append(names, a.Name)
	}
	return nil, fmt.Errorf("unknown chat app %q in environment %s (apps with %schat-service: %s)",
		app, env.Name, platform.SmokeAnnotationPrefix, strings.Join(names, ", "))
}

// key reads the API key from the environment or a Secret, naming where it looked
// when it is not there, and never the value.
func (c Chat) key(ctx context.Context, client *kube.Client, secret string) (string, error) {
	if c.KeyEnv != "" {
		v := c.Getenv(c.KeyEnv)
		if v == "" {
			return "", fmt.Errorf("--key-env %s: the variable is unset or empty", c.KeyEnv)
		}
		return v, nil
	}
	ref, err := platform.ParseSecretKeyRef(secret)
	if err != nil {
		return "", err
	}
	s, err := readSecret(ctx, client, ref.Namespace, ref.Name)
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
