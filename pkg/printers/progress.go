package printers

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Progress shows a table that changes over time. On a terminal it redraws the
// table in place; elsewhere (CI logs, pipes) it prints one line per row that
// changed, so a log reads as a history of what happened.
type Progress struct {
	out    io.Writer
	live   bool
	header []string
	last   map[string]string // row key -> last printed row
	lines  int               // lines drawn last time (terminal mode)
}

// NewProgress starts a progress display; live selects in-place redraws.
func NewProgress(out io.Writer, live bool, header []string) *Progress {
	return &Progress{out: out, live: live, header: header, last: map[string]string{}}
}

// Update shows rows (the first column is the row's key) and a summary line.
func (p *Progress) Update(rows [][]string, summary string) {
	if p.live {
		var buf bytes.Buffer
		_ = Table(&buf, p.header, rows)
		buf.WriteString(summary + "\n")
		if p.lines > 0 {
			fmt.Fprintf(p.out, "\x1b[%dA\x1b[J", p.lines) // up over the last drawing, clear to the end
		}
		_, _ = p.out.Write(buf.Bytes())
		p.lines = strings.Count(buf.String(), "\n")
		return
	}
	for _, r := range rows {
		line := strings.Join(r, "  ")
		if p.last[r[0]] == line {
			continue
		}
		p.last[r[0]] = line
		fmt.Fprintln(p.out, line)
	}
}
