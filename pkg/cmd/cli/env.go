package cli

import (
	"github.com/spf13/pflag"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// EnvFlags select the platform environment: --env and --dir, shared by the plugins.
type EnvFlags struct {
	Env string
	Dir string
}

// AddFlags registers --env and --dir.
func (f *EnvFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Env, "env", "", "Environment under clusters/ (default: the only one there)")
	fs.StringVar(&f.Dir, "dir", "", "The clusters/ folder (default: the nearest clusters/ at or above the working directory)")
}

// ClustersDir is --dir, else the nearest clusters/ at or above the working directory.
func (f *EnvFlags) ClustersDir() (string, error) {
	if f.Dir != "" {
		return f.Dir, nil
	}
	return platform.FindClustersDir(".")
}

// Load finds, reads and validates the environment.
func (f *EnvFlags) Load() (*platform.Env, error) {
	dir, err := f.ClustersDir()
	if err != nil {
		return nil, err
	}
	return platform.Load(dir, f.Env)
}

// LoadLayout is Load without the catalog (see platform.LoadLayout).
func (f *EnvFlags) LoadLayout() (*platform.Env, error) {
	dir, err := f.ClustersDir()
	if err != nil {
		return nil, err
	}
	return platform.LoadLayout(dir, f.Env)
}
