// Package platformtest helps tests build broken copies of an environment.
package platformtest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// CopyTree copies the folder src (a whole repository, say, with its clusters/
// and a config kept elsewhere) into a new temporary folder, applies edits (path
// relative to src -> edit), and returns the copy.
func CopyTree(t testing.TB, src string, edits map[string]Edit) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	copyDir(t, src, dst, edits)
	return dst
}

// CopyEnv copies clusters/<env> into a new temporary clusters folder (keeping the
// repository layout: the copy's parent is the repo root), applies edits (path
// relative to the environment -> edit), and returns the new clusters folder.
func CopyEnv(t testing.TB, clustersDir, env string, edits map[string]Edit) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "clusters")
	copyDir(t, filepath.Join(clustersDir, env), filepath.Join(dst, env), edits)
	return dst
}

func copyDir(t testing.TB, src, dst string, edits map[string]Edit) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
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
}

// Stamp is a file's content and modification time.
type Stamp struct {
	Data    string
	ModTime time.Time
}

// past is the modification time Snapshot gives every file, so that a write,
// even within the same second, shows.
var past = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// Snapshot sets the modification time of every file under dir to a fixed past
// time and records each file's content and time.
func Snapshot(t testing.TB, dir string) map[string]Stamp {
	t.Helper()
	out := map[string]Stamp{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if err := os.Chtimes(path, past, past); err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = Stamp{Data: string(data), ModTime: past}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Unchanged fails the test for every file under dir that was written, added or
// removed since Snapshot.
func Unchanged(t testing.TB, dir string, before map[string]Stamp) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		seen[path] = true
		b, ok := before[path]
		if !ok {
			t.Errorf("%s was created", path)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if string(data) != b.Data {
			t.Errorf("%s was changed", path)
		}
		if !info.ModTime().Equal(b.ModTime) {
			t.Errorf("%s was written (modified at %s)", path, info.ModTime())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path := range before {
		if !seen[path] {
			t.Errorf("%s was removed", path)
		}
	}
}

// Checksums maps every file under dir (path relative to dir, with slashes) to
// its SHA-256, so a test can prove a command changed no file it should not.
func Checksums(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
