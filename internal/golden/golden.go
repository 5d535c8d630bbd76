// Package golden compares test output with golden files: whole outputs, whole
// request bodies, kept under each package's testdata/ and reviewed as diffs.
// Every golden comparison of the repository goes through Assert, so there is one
// -update flag: `go test ./pkg/cmd/... -update` rewrites the golden files of the
// packages it runs (then review the diff with git).
package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/internal/linediff"
)

var update = flag.Bool("update", false, "rewrite the golden files with what the tests produce, instead of comparing")

// Assert compares got with the golden file at path (relative to the test's
// package directory, such as testdata/open/x.golden) and fails t with a line
// diff (- the golden file, + got) when they differ. With -update it writes got
// there instead, creating the folders it needs.
func Assert[T ~string | ~[]byte](t testing.TB, path string, got T) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the output (- golden file, + got; go test -update rewrites it):\n%s", path, diff(string(want), string(got)))
	}
}

// diff is the line diff of want and got, or, when their lines are equal (a final
// newline or a carriage return apart), both ends quoted.
func diff(want, got string) string {
	if d := linediff.Diff(want, got); d != "" {
		return d
	}
	tail := func(s string) string { return fmt.Sprintf("%q", s[max(0, len(s)-40):]) }
	return "the lines are equal but the ends differ: golden file ends " + tail(want) + ", got ends " + tail(got)
}

// File is testdata/<name>.golden, the path Assert takes for a golden file named
// by what it holds (name may hold folders: open/closed-opens).
func File(name string) string { return filepath.Join("testdata", name+".golden") }
