package printers

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressPlainPrintsOnlyChangedRows(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false, []string{"APP", "SYNC"})
	p.Update([][]string{{"a", "OutOfSync"}, {"b", "Synced"}}, "0/2")
	p.Update([][]string{{"a", "Synced"}, {"b", "Synced"}}, "1/2")
	want := "a  OutOfSync\nb  Synced\na  Synced\n"
	if out.String() != want {
		t.Errorf("plain progress:\n%q\nwant\n%q", out.String(), want)
	}
}

func TestProgressLiveRedrawsInPlace(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true, []string{"APP", "SYNC"})
	p.Update([][]string{{"a", "OutOfSync"}}, "0/1")
	first := out.String()
	if strings.Contains(first, "\x1b[") || !strings.Contains(first, "APP") || !strings.HasSuffix(first, "0/1\n") {
		t.Fatalf("first drawing: %q", first)
	}
	p.Update([][]string{{"a", "Synced"}}, "1/1")
	second := strings.TrimPrefix(out.String(), first)
	// Up over the three lines drawn (header, row, summary), clear, redraw.
	if !strings.HasPrefix(second, "\x1b[3A\x1b[J") || !strings.Contains(second, "Synced") {
		t.Errorf("redraw: %q", second)
	}
}

func TestValidateFormatNamesTheChoices(t *testing.T) {
	if err := ValidateFormat("xml", "json", "yaml"); err == nil || !strings.Contains(err.Error(), `--output "xml" is not supported here (use json, yaml)`) {
		t.Errorf("got %v", err)
	}
}
