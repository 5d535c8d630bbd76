package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DescriptorExistsError is init refusing to overwrite a descriptor.
type DescriptorExistsError struct{ Path string }

func (e *DescriptorExistsError) Error() string {
	return fmt.Sprintf("%s already exists: init does not overwrite it (pass --force to replace it with what init infers now; nothing was written)", e.Path)
}

// CheckNoDescriptor returns a *DescriptorExistsError when the environment
// already has a descriptor.
func CheckNoDescriptor(clustersDir, env string) error {
	p := filepath.Join(clustersDir, env, DescriptorFile)
	if _, err := os.Lstat(p); err == nil {
		return &DescriptorExistsError{Path: p}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Write writes the descriptor, atomically (a temporary file in the same
// folder, renamed over the descriptor), and nothing else. Without force it
// refuses to replace an existing descriptor.
func (inf *Inference) Write(force bool) error {
	if !force {
		if err := CheckNoDescriptor(filepath.Dir(inf.EnvDir), inf.Env); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(inf.EnvDir, "."+DescriptorFile+".*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(inf.Content); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), inf.Path); err != nil {
		return err
	}
	done = true
	return nil
}
