package printers

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// Progress shows a table that changes over time. On a terminal it redraws, in
// place, a view that fits the terminal: a summary line and the rows not done
// yet, each cut to the width, so nothing wraps and nothing scrolls into the
// scrollback; Final prints the whole table once. Elsewhere (CI logs, pipes) it
// prints one line per row that changed, so a log reads as a history of what
// happened.
type Progress struct {
	out    io.Writer
	live   bool
	header []string
	// Width and Height bound the live view (the terminal's size; 0: unbounded).
	Width, Height int
	last          map[string]string // row key -> last printed row
	lines         int               // lines drawn last time (live mode)
}

// NewProgress starts a progress display; live selects in-place redraws, sized to
// out when it is a terminal.
func NewProgress(out io.Writer, live bool, header []string) *Progress {
	p := &Progress{out: out, live: live, header: header, last: map[string]string{}}
	if f, ok := out.(*os.File); ok && live {
		p.Width, p.Height, _ = term.GetSize(int(f.Fd()))
	}
	return p
}

// Update shows rows (the first column is the row's key) and a summary line;
// pending[i] says row i is not done yet (the live view shows only those).
func (p *Progress) Update(rows [][]string, pending []bool, summary string) {
	if !p.live {
		for _, r := range rows {
			line := strings.Join(r, "  ")
			if p.last[r[0]] == line {
				continue
			}
			p.last[r[0]] = line
			fmt.Fprintln(p.out, line)
		}
		return
	}
	var open [][]string
	for i, r := range rows {
		if i < len(pending) && pending[i] {
			open = append(open, r)
		}
	}
	room := len(open)
	if p.Height > 0 && room > p.Height-3 { // summary, header, "and N more"
		room = max(p.Height-3, 0)
	}
	var table bytes.Buffer
	if room > 0 {
		_ = Table(&table, p.header, open[:room])
	}
	lines := []string{summary}
	lines = append(lines, strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")...)
	if table.Len() == 0 {
		lines = lines[:1]
	}
	if room < len(open) {
		lines = append(lines, fmt.Sprintf("… and %d more not ready", len(open)-room))
	}
	p.redraw(lines)
}

// Final replaces the live view with the whole table and the summary; in plain
// mode the history is already printed and it prints nothing.
func (p *Progress) Final(rows [][]string, summary string) {
	if !p.live {
		return
	}
	p.redraw(nil)
	_ = Table(p.out, p.header, rows)
	fmt.Fprintln(p.out, summary)
	p.lines = 0
}

func (p *Progress) redraw(lines []string) {
	var buf bytes.Buffer
	if p.lines > 0 {
		fmt.Fprintf(&buf, "\x1b[%dA\x1b[J", p.lines) // up over the last drawing, clear to the end
	}
	for _, l := range lines {
		buf.WriteString(cut(l, p.Width) + "\n")
	}
	_, _ = p.out.Write(buf.Bytes())
	p.lines = len(lines)
}

// cut shortens a line to fit width columns (runes), so the terminal never wraps it.
func cut(s string, width int) string {
	if width <= 0 || utf8.RuneCountInString(s) < width {
		return s
	}
	r := []rune(s)
	return string(r[:width-2]) + "…"
}

// StatusLine prints one progress line: cut to the width on a terminal (a long
// pod message would wrap and scroll), whole in logs and pipes.
func StatusLine(w io.Writer, line string) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			line = cut(line, width)
		}
	}
	fmt.Fprintln(w, line)
}
