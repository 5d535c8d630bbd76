package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// committed is the reference `make docs` writes, from this package's folder.
const committed = "../../docs/commands"

// TestCommandsDocsAreFresh regenerates the command reference into a temporary
// folder and compares it with docs/commands, file by file: a command's help
// changed without `make docs` fails here. It runs twice, under two home
// folders and with and without KUBECACHEDIR, so a page that depends on the
// machine fails too.
func TestCommandsDocsAreFresh(t *testing.T) {
	for _, cacheDir := range []string{"", t.TempDir()} {
		t.Setenv("HOME", t.TempDir())
		t.Setenv("KUBECACHEDIR", cacheDir)
		out := t.TempDir()
		if err := write(out); err != nil {
			t.Fatal(err)
		}
		if diffs := compare(t, out, committed); len(diffs) > 0 {
			t.Fatalf("docs/commands is stale: run make docs\n  %s", strings.Join(diffs, "\n  "))
		}
	}
}

// compare lists the .md files that differ between the generated folder and
// the committed one, or exist in only one of them.
func compare(t *testing.T, generated, committed string) []string {
	t.Helper()
	got, want := readPages(t, generated), readPages(t, committed)
	var diffs []string
	for rel, body := range got {
		switch old, ok := want[rel]; {
		case !ok:
			diffs = append(diffs, rel+": not in docs/commands")
		case !bytes.Equal(old, body):
			diffs = append(diffs, rel+": differs from what the commands generate")
		}
	}
	for rel := range want {
		if _, ok := got[rel]; !ok {
			diffs = append(diffs, rel+": in docs/commands, but no command generates it")
		}
	}
	slices.Sort(diffs)
	return diffs
}

func readPages(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	pages := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
			return err
		}
		body, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		pages[filepath.ToSlash(rel)] = body
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return pages
}
