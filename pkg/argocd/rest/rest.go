package rest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd/connection"
	"github.com/aidev-platform/kubectl-plugins/pkg/printers"
)

// Options say how to reach Argo CD: read once for both Argo CD clients.
type Options = connection.Settings

// Client calls Argo CD's API over HTTP.
type Client struct {
	base   string // scheme://host[:port][/root]
	server string // for messages
	token  string
	http   *http.Client
	agent  string
	// timeout bounds each call that is no stream.
	timeout  time.Duration
	settings connection.Settings
}

// New resolves the server and token (flags, ARGOCD_*, then the argocd
// config's context) and returns a client; nothing is sent yet.
func New(opts Options, getenv func(string) string) (*Client, error) {
	opts, err := opts.Resolve(getenv)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	if opts.PlainText {
		scheme = "http"
	}
	base := scheme + "://" + strings.TrimSuffix(opts.Server, "/")
	if root := strings.Trim(opts.GRPCWebRootPath, "/"); root != "" {
		base += "/" + root
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.Insecure {
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for --insecure
	}
	agent := opts.UserAgent
	if agent == "" {
		agent = "kubectl-plugins"
	}
	return &Client{base: base, server: opts.Server, token: opts.AuthToken, http: &http.Client{Transport: transport}, agent: agent,
		timeout: opts.RequestTimeout, settings: opts}, nil
}

// Settings are what the client was resolved to.
func (c *Client) Settings() connection.Settings { return c.settings }

// statusError is an answer of Argo CD's that refuses the request: asking again
// cannot help.
type statusError struct {
	code int
	error
}

func (e *statusError) Unwrap() error { return e.error }

// IsPermissionDenied says whether Argo CD's RBAC refused the request (403).
func IsPermissionDenied(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == http.StatusForbidden
}

// call is a GET that is no stream: bounded by the request timeout, including
// the reading of its body (the timer stops when the body is closed).
func (c *Client) call(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	resp, err := c.get(cctx, path, query)
	if err != nil {
		defer cancel()
		if ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("Argo CD at %s took the connection and did not answer %s in %s (a stuck server or a half-open load balancer; --request-timeout sets how long to wait)", c.server, path, c.timeout)
		}
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error { defer b.cancel(); return b.ReadCloser.Close() }

// Server is the address the client talks to.
func (c *Client) Server() string { return c.server }

func (c *Client) get(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.agent)
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach the Argo CD server at %s: %s", c.server, printers.Redact(err.Error(), c.token))
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var status struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &status) == nil && status.Message != "" {
		msg = status.Message
	}
	msg = printers.Redact(msg, c.token)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return nil, &statusError{resp.StatusCode, fmt.Errorf("Argo CD at %s refused the token (401 Unauthenticated): %s", c.server, msg)}
	case http.StatusForbidden:
		return nil, &statusError{resp.StatusCode, fmt.Errorf("Argo CD at %s denied the request (403 PermissionDenied: check Argo CD RBAC): %s", c.server, msg)}
	}
	return nil, &statusError{resp.StatusCode, fmt.Errorf("Argo CD at %s: %s: %s", c.server, resp.Status, msg)}
}

// A kind Argo CD's API lists and streams.
type kind struct {
	plural string // "applications": /api/v1/<plural> and /api/v1/stream/<plural>
	field  string // the object's field in a stream event
	title  string // for messages
}

var (
	applicationsKind    = kind{"applications", "application", "the Applications"}
	applicationSetsKind = kind{"applicationsets", "applicationSet", "the ApplicationSets"}
)

// Applications lists the Applications the token may see (of project, when set).
func (c *Client) Applications(ctx context.Context, project string) ([]*unstructured.Unstructured, error) {
	return c.list(ctx, applicationsKind, project)
}

// ApplicationSets lists the ApplicationSets the token may see (of project, when set).
func (c *Client) ApplicationSets(ctx context.Context, project string) ([]*unstructured.Unstructured, error) {
	return c.list(ctx, applicationSetsKind, project)
}

func (c *Client) list(ctx context.Context, k kind, project string) ([]*unstructured.Unstructured, error) {
	q := url.Values{}
	if project != "" {
		q.Set("projects", project)
	}
	resp, err := c.call(ctx, "/api/v1/"+k.plural, q)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := decode(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("Argo CD at %s: reading %s: %w", c.server, k.title, err)
	}
	return objects(body), nil
}

// decode reads a JSON body as the Kubernetes client does: whole numbers as
// int64 (replicas and generations read as numbers), the others as float64.
func decode(r io.Reader) (any, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var v any
	if err := utiljson.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// objects reads the items of a list body.
func objects(body any) []*unstructured.Unstructured {
	m, _ := body.(map[string]any)
	items, _ := m["items"].([]any)
	out := make([]*unstructured.Unstructured, 0, len(items))
	for _, it := range items {
		if obj, ok := it.(map[string]any); ok {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
	return out
}

// Version is the Argo CD server's version.
func (c *Client) Version(ctx context.Context) (string, error) {
	resp, err := c.call(ctx, "/api/version", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct {
		Version string `json:"Version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// UserInfo says who the token is, and whether Argo CD takes it.
func (c *Client) UserInfo(ctx context.Context) (loggedIn bool, username string, err error) {
	resp, err := c.call(ctx, "/api/v1/session/userinfo", nil)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	var u struct {
		LoggedIn bool   `json:"loggedIn"`
		Username string `json:"username"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
		return false, "", err
	}
	return u.LoggedIn, u.Username, nil
}

// CanI asks Argo CD's RBAC (argocd account can-i ACTION RESOURCE OBJECT).
func (c *Client) CanI(ctx context.Context, resource, action, object string) (bool, error) {
	resp, err := c.call(ctx, "/api/v1/account/can-i/"+url.PathEscape(resource)+"/"+url.PathEscape(action)+"/"+url.PathEscape(object), nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var v struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return false, err
	}
	return v.Value == "yes", nil
}
