package printers

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressPlainPrintsOnlyChangedRows(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false, []string{"APP", "SYNC"})
	p.Update([][]string{{"a", "OutOfSync"}, {"b", "Synced"}}, []bool{true, false}, "0/2")
	p.Update([][]string{{"a", "Synced"}, {"b", "Synced"}}, []bool{false, false}, "1/2")
	p.Final([][]string{{"a", "Synced"}, {"b", "Synced"}}, "2/2")
	want := "a  OutOfSync\nb  Synced\na  Synced\n"
	if out.String() != want {
		t.Errorf("plain progress:\n%q\nwant\n%q", out.String(), want)
	}
}

// The live view fits the terminal: summary, the pending rows cut to the width,
// at most Height lines; it redraws over itself and ends with the whole table.
func TestProgressLiveFitsTheTerminal(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true, []string{"APP", "SYNC", "MESSAGE"})
	p.Width, p.Height = 30, 5
	rows := [][]string{
		{"a", "Synced", ""},
		{"b", "OutOfSync", "a long message that does not fit in thirty columns"},
		{"c", "OutOfSync", "x"},
		{"d", "OutOfSync", "y"},
	}
	p.Update(rows, []bool{false, true, true, true}, "1/4 ready")
	p.Update(rows, []bool{false, false, false, true}, "3/4 ready")
	p.Final(rows, "4/4 ready")
	want := "1/4 ready\n" +
		"APP   SYNC        MESSAGE\n" +
		"b     OutOfSync   a long mes…\n" +
		"c     OutOfSync   x\n" +
		"… and 1 more not ready\n" +
		"\x1b[5A\x1b[J3/4 ready\n" +
		"APP   SYNC        MESSAGE\n" +
		"d     OutOfSync   y\n" +
		"\x1b[3A\x1b[J" +
		"APP   SYNC        MESSAGE\n" +
		"a     Synced      \n" +
		"b     OutOfSync   a long message that does not fit in thirty columns\n" +
		"c     OutOfSync   x\n" +
		"d     OutOfSync   y\n" +
		"4/4 ready\n"
	if out.String() != want {
		t.Errorf("live progress:\n%q\nwant\n%q", out.String(), want)
	}
}

func TestValidateFormatNamesTheChoices(t *testing.T) {
	if err := ValidateFormat("xml", "json", "yaml"); err == nil || !strings.Contains(err.Error(), `--output "xml" is not supported here (use json, yaml)`) {
		t.Errorf("got %v", err)
	}
}
