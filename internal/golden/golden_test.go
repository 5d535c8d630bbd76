package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Assert reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAssertComparesAndUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "sub", "x.golden")

	defer func(was bool) { *update = was }(*update)
	*update = true
	Assert(t, path, "a\nb\nc\n")
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\nb\nc\n" {
		t.Fatalf("-update wrote %q, %v", b, err)
	}
	*update = false

	r := &recorder{TB: t}
	Assert(r, path, []byte("a\nb\nc\n"))
	if len(r.errors) != 0 {
		t.Errorf("equal content reported: %v", r.errors)
	}
	Assert(r, path, "a\nB\nc\n")
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "- b\n+ B\n") || !strings.Contains(r.errors[0], path) {
		t.Errorf("a changed line: %q", r.errors)
	}
	r.errors = nil
	Assert(r, path, "a\nb\nc")
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `golden file ends "a\nb\nc\n", got ends "a\nb\nc"`) {
		t.Errorf("a missing final newline: %q", r.errors)
	}
}

func TestFile(t *testing.T) {
	if got := File("open/closed"); got != filepath.Join("testdata", "open", "closed.golden") {
		t.Errorf("File: %s", got)
	}
}
