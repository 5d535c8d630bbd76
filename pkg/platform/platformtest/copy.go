// Package platformtest helps tests build broken copies of an environment.
package platformtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Edit changes one file's content.
type Edit func(string) string

// Replace returns an edit that replaces old with new once; a test whose edit
// does not apply fails, so it never passes by accident.
func Replace(t testing.TB, old, new string) Edit {
	return func(s string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("test edit does not apply: %q not found", old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

// CopyEnv copies clusters/<env> into a new temporary clusters folder (keeping the
// repository layout: the copy's parent is the repo root), applies edits (path
// relative to the environment -> edit), and returns the new clusters folder.
func CopyEnv(t testing.TB, clustersDir, env string, edits map[string]Edit) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "clusters")
	src := filepath.Join(clustersDir, env)
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, env, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if edit, ok := edits[filepath.ToSlash(rel)]; ok {
			data = []byte(edit(string(data)))
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
