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
	// Size reads the terminal's size again before each drawing, so a resize
	// during the wait is followed (nil: Width and Height stay).
	Size  func() (width, height int, err error)
	last  map[string]string // row key -> last printed row
	drawn []int             // the length of each line drawn last time (live mode)
}

// NewProgress starts a progress display; live selects in-place redraws, sized to
// out when it is a terminal.
func NewProgress(out io.Writer, live bool, header []string) *Progress {
	p := &Progress{out: out, live: live, header: header, last: map[string]string{}}
	if f, ok := out.(*os.File); ok && live {
		p.Size = func() (int, int, error) { return term.GetSize(int(f.Fd())) }
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
	p.measure()
	var open [][]string
	for i, r := range rows {
		if i < len(pending) && pending[i] {
			open = append(open, r)
		}
	}
	// The frame stays below the terminal's height: the summary, the header,
	// "and N more" and the line the cursor rests on after it. A frame as tall
	// as the terminal would scroll its first line into the scrollback at every
	// redraw.
	room := len(open)
	if p.Height > 0 && room > p.Height-4 {
		room = max(p.Height-4, 0)
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
	p.measure()
	p.redraw(nil)
	// Each line cut to the width (the message column last, so it is the one cut):
	// a wrapped final table is unreadable.
	var table bytes.Buffer
	_ = Table(&table, p.header, rows)
	for _, l := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		fmt.Fprintln(p.out, cut(l, p.Width))
	}
	fmt.Fprintln(p.out, cut(summary, p.Width))
	p.drawn = nil
}

// measure reads the terminal's size again.
func (p *Progress) measure() {
	if p.Size == nil {
		return
	}
	if w, h, err := p.Size(); err == nil {
		p.Width, p.Height = w, h
	}
}

func (p *Progress) redraw(lines []string) {
	var buf bytes.Buffer
	if up := p.rows(p.drawn); up > 0 {
		fmt.Fprintf(&buf, "\x1b[%dA\x1b[J", up) // up over the last drawing, clear to the end
	}
	p.drawn = p.drawn[:0]
	for _, l := range lines {
		l = cut(l, p.Width)
		buf.WriteString(l + "\n")
		p.drawn = append(p.drawn, utf8.RuneCountInString(l))
	}
	_, _ = p.out.Write(buf.Bytes())
}

// rows is how many terminal rows lines of these lengths take at the current
// width: after a resize to a narrower terminal, one that reflows wraps them.
func (p *Progress) rows(lengths []int) int {
	n := 0
	for _, l := range lengths {
		if p.Width > 0 && l > p.Width {
			n += (l + p.Width - 1) / p.Width
		} else {
			n++
		}
	}
	return n
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
