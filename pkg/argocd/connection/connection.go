// Package connection reads how to reach Argo CD's API, once, for both of its
// clients (pkg/argocd/rest over HTTP, pkg/argocd/grpcclient over gRPC): the
// flags, then ARGOCD_SERVER and ARGOCD_AUTH_TOKEN, then the argocd CLI's
// config (what `argocd login` wrote), the way the argocd CLI reads them. Its
// messages name the flags of the CLI that is running.
package connection

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/yaml"
)

// Settings say how to reach Argo CD, like the argocd CLI's global flags.
type Settings struct {
	Server          string // host:port
	AuthToken       string // never printed
	GRPCWeb         bool
	GRPCWebRootPath string // Argo CD served under a path; implies GRPCWeb
	PlainText       bool   // no TLS at all
	Insecure        bool   // skip TLS verification
	Context         string // the argocd CLI config's context ("" for its current one)
	ConfigPath      string // the argocd CLI config ("" for the default)
	UserAgent       string
	// ServerFlag is the running CLI's flag for Server: --server under argocd,
	// --argocd-server under kubectl (where --server is the API server's).
	ServerFlag string
	// ConnectTimeout bounds reaching the server (the dial, the TLS handshake,
	// the first answer); RequestTimeout each call that is no stream.
	ConnectTimeout, RequestTimeout time.Duration

	// Set by Resolve: the config file read ("" when none was) and whether
	// the token came from it (the gRPC client then lets the argo-cd client
	// read it, so an SSO token is refreshed as the argocd CLI refreshes it).
	ConfigRead      string
	TokenFromConfig bool
}

// The bounds of a connection and of a call when the flags set none.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultRequestTimeout = 30 * time.Second
)

// WithEnv fills the address and token from ARGOCD_SERVER and
// ARGOCD_AUTH_TOKEN when the flags leave them empty.
func (s Settings) WithEnv(getenv func(string) string) Settings {
	if s.Server == "" {
		s.Server = getenv("ARGOCD_SERVER")
	}
	if s.AuthToken == "" {
		s.AuthToken = getenv("ARGOCD_AUTH_TOKEN")
	}
	if s.GRPCWebRootPath != "" {
		s.GRPCWeb = true
	}
	if s.ServerFlag == "" {
		s.ServerFlag = "--server"
	}
	if s.ConnectTimeout <= 0 {
		s.ConnectTimeout = DefaultConnectTimeout
	}
	if s.RequestTimeout <= 0 {
		s.RequestTimeout = DefaultRequestTimeout
	}
	return s
}

// Resolve is WithEnv, then the argocd CLI's config for what is still open.
// It fails, naming the running CLI's flags, when no server or token is found.
func (s Settings) Resolve(getenv func(string) string) (Settings, error) {
	s = s.WithEnv(getenv)
	path := s.ConfigPath
	if path == "" {
		path = DefaultConfigPath(getenv)
	}
	if s.Server == "" || s.AuthToken == "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			var cfg localConfig
			if err := yaml.Unmarshal(data, &cfg); err != nil {
				return s, fmt.Errorf("argocd config %s: %v", path, err)
			}
			if err := cfg.fill(&s); err != nil {
				return s, fmt.Errorf("argocd config %s: %v", path, err)
			}
			s.ConfigRead = path
			s.GRPCWeb = s.GRPCWeb || s.GRPCWebRootPath != ""
		case s.ConfigPath != "":
			return s, fmt.Errorf("argocd config %s: %v", path, err)
		}
	}
	if s.Server == "" || s.AuthToken == "" {
		return s, fmt.Errorf("no Argo CD server or token: pass %s and --auth-token (or ARGOCD_SERVER and ARGOCD_AUTH_TOKEN), or run `argocd login` first", s.ServerFlag)
	}
	return s, nil
}

// DefaultConfigPath is where the argocd CLI keeps its config: $ARGOCD_CONFIG_DIR,
// else ~/.config/argocd (or the legacy ~/.argocd when that exists).
func DefaultConfigPath(getenv func(string) string) string {
	if dir := getenv("ARGOCD_CONFIG_DIR"); dir != "" {
		return filepath.Join(dir, "config")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(home, ".argocd")); err == nil {
		return filepath.Join(home, ".argocd", "config")
	}
	xdg := getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(home, ".config")
	}
	return filepath.Join(xdg, "argocd", "config")
}

// localConfig is the part of the argocd CLI's config the plugins read.
type localConfig struct {
	CurrentContext string `json:"current-context"`
	Contexts       []struct {
		Name, Server, User string
	} `json:"contexts"`
	Servers []struct {
		Server          string `json:"server"`
		PlainText       bool   `json:"plain-text"`
		Insecure        bool   `json:"insecure"`
		GRPCWeb         bool   `json:"grpc-web"`
		GRPCWebRootPath string `json:"grpc-web-root-path"`
	} `json:"servers"`
	Users []struct {
		Name      string `json:"name"`
		AuthToken string `json:"auth-token"`
	} `json:"users"`
}

// fill takes what s leaves open from the config's context; the context's
// server's transport settings apply when that is the server s talks to.
func (c *localConfig) fill(s *Settings) error {
	name := s.Context
	if name == "" {
		name = c.CurrentContext
	}
	for _, ctx := range c.Contexts {
		if ctx.Name != name {
			continue
		}
		s.Context = name
		if s.Server == "" {
			s.Server = ctx.Server
		}
		for _, srv := range c.Servers {
			if srv.Server == s.Server {
				s.PlainText = s.PlainText || srv.PlainText
				s.Insecure = s.Insecure || srv.Insecure
				s.GRPCWeb = s.GRPCWeb || srv.GRPCWeb
				if s.GRPCWebRootPath == "" {
					s.GRPCWebRootPath = srv.GRPCWebRootPath
				}
			}
		}
		for _, u := range c.Users {
			if u.Name == ctx.User && s.AuthToken == "" {
				s.AuthToken, s.TokenFromConfig = u.AuthToken, true
			}
		}
		return nil
	}
	if s.Context != "" {
		return fmt.Errorf("no context %q", s.Context)
	}
	return nil
}
