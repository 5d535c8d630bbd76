package printers

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// Progress shows a table that changes over time. On a terminal it draws, on
// the terminal's alternate screen (as watch and top do), a view that fits the
// terminal: a summary line and the rows not done yet, each cut to the width,
// read again at every drawing so a resize is followed; Final leaves the
// alternate screen and prints the whole table once, cut to the width. So no
// frame of the live view ever reaches the scrollback, whatever the terminal
// does on a clear or a resize. Elsewhere (CI logs, pipes) it prints one line
// per row that changed, so a log reads as a history of what happened.
type Progress struct {
	out    io.Writer
	live   bool
	header []string
	// Width and Height bound the live view (the terminal's size; 0: unbounded).
	Width, Height int
	// Size reads the terminal's size again before each drawing, so a resize
	// during the wait is followed (nil: Width and Height stay).
	Size func() (width, height int, err error)
	last map[string]string // row key -> last printed row
	alt  bool              // the live view is on the alternate screen
	// printed is when plain mode last printed a line.
	printed time.Time
}

// Heartbeat is how often, at least, a long wait says what it waits on.
const Heartbeat = 5 * time.Second

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
		said := false
		for _, r := range rows {
			line := strings.Join(r, "  ")
			if p.last[r[0]] == line {
				continue
			}
			p.last[r[0]] = line
			fmt.Fprintln(p.out, line)
			said = true
		}
		// Nothing changed for a while: a log still shows the wait is alive.
		if !said && time.Since(p.printed) >= Heartbeat {
			fmt.Fprintln(p.out, "still waiting: "+summary)
			said = true
		}
		if said {
			p.printed = time.Now()
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
	// "and N more", and the line the cursor rests on after it.
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

// Final leaves the live view and prints the whole table and the summary, each
// line cut to the width (the message column last, so it is the one cut: a
// wrapped final table is unreadable); in plain mode the history is already
// printed and it prints nothing.
func (p *Progress) Final(rows [][]string, summary string) {
	if !p.live {
		return
	}
	p.measure()
	var buf bytes.Buffer
	if p.alt {
		buf.WriteString("\x1b[?1049l") // back to the main screen, as it was
		p.alt = false
	}
	var table bytes.Buffer
	_ = Table(&table, p.header, rows)
	for _, l := range append(strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n"), summary) {
		buf.WriteString(cut(l, p.Width) + "\n")
	}
	_, _ = p.out.Write(buf.Bytes())
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

// redraw draws lines from the top of the alternate screen, entered on the
// first drawing, each line erased as it is written and what is below cleared.
func (p *Progress) redraw(lines []string) {
	var buf bytes.Buffer
	if !p.alt {
		buf.WriteString("\x1b[?1049h")
		p.alt = true
	}
	buf.WriteString("\x1b[H")
	for _, l := range lines {
		buf.WriteString("\x1b[2K" + cut(l, p.Width) + "\n")
	}
	buf.WriteString("\x1b[J")
	_, _ = p.out.Write(buf.Bytes())
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

// StatusLines prints what a wait waits on, a line each time it changes (as
// StatusLine), and says the last one again when nothing new was said for
// Heartbeat, so a wait that hears nothing is never silent; line renders a
// message (with the time waited so far, say). stop ends the repeating.
func StatusLines(w io.Writer, line func(msg string) string) (say func(msg string), stop func()) {
	tick := time.NewTicker(Heartbeat / 5)
	return statusLines(w, line, Heartbeat, clock{now: time.Now, ticks: tick.C, stop: tick.Stop})
}

// clock is the time statusLines reads and the ticks it checks the silence at:
// time.Now and a time.Ticker, or a test's own.
type clock struct {
	now   func() time.Time
	ticks <-chan time.Time
	stop  func() // called once the repeating ends
}

func statusLines(w io.Writer, line func(msg string) string, every time.Duration, c clock) (say func(msg string), stop func()) {
	var mu sync.Mutex
	last, said := "", c.now()
	done := make(chan struct{})
	say = func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		last, said = msg, c.now()
		StatusLine(w, line(msg))
	}
	go func() {
		defer c.stop()
		for {
			select {
			case <-done:
				return
			case <-c.ticks:
				mu.Lock()
				if last != "" && c.now().Sub(said) >= every {
					said = c.now()
					StatusLine(w, line(last))
				}
				mu.Unlock()
			}
		}
	}()
	var once sync.Once
	return say, func() { once.Do(func() { close(done) }) }
}
