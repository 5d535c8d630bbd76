// Package version holds the build identity stamped by the Makefile through
// -ldflags "-X github.com/aidev-platform/kubectl-plugins/pkg/version.Version=...".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time; the defaults say the binary was built without the Makefile.
var (
	Version   = "v0.0.0-dev"
	Commit    = "unknown"
	BuildDate = "unknown"
)

// Info is the version record printed by every plugin's `version` verb.
type Info struct {
	Plugin    string `json:"plugin"`
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build identity of the named plugin. Without ldflags it falls back
// to the VCS data the go command embeds, so a `go build` binary still says where it came from.
func Get(plugin string) Info {
	info := Info{
		Plugin:    plugin,
		Version:   Version,
		Commit:    Commit,
		BuildDate: BuildDate,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info.Commit == "unknown" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					info.Commit = s.Value
				case "vcs.time":
					if info.BuildDate == "unknown" {
						info.BuildDate = s.Value
					}
				}
			}
		}
	}
	return info
}

// String is the one-line form, like `kubectl version --client`'s.
func (i Info) String() string {
	return fmt.Sprintf("%s %s (commit %s, built %s, %s, %s)",
		i.Plugin, i.Version, i.Commit, i.BuildDate, i.GoVersion, i.Platform)
}
