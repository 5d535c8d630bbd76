package printers

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
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
// at most Height-1 lines; it redraws over itself and ends with the whole table, cut to the width.
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
	// The frame is at most 4 lines in a 5-line terminal (the cursor rests on
	// the fifth); the final table is cut to the width too.
	// The live view is drawn from the top of the alternate screen, each line
	// erased as it is written and what is below cleared; the final table is
	// printed on the main screen, cut to the width.
	const enter, home, erase, below, leave = "\x1b[?1049h", "\x1b[H", "\x1b[2K", "\x1b[J", "\x1b[?1049l"
	want := enter + home + erase + "1/4 ready\n" +
		erase + "APP   SYNC        MESSAGE\n" +
		erase + "b     OutOfSync   a long mes…\n" +
		erase + "… and 2 more not ready\n" + below +
		home + erase + "3/4 ready\n" +
		erase + "APP   SYNC        MESSAGE\n" +
		erase + "d     OutOfSync   y\n" + below +
		leave +
		"APP   SYNC        MESSAGE\n" +
		"a     Synced      \n" +
		"b     OutOfSync   a long mes…\n" +
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

// A resize during the wait is followed: the size is read at each drawing.
func TestProgressFollowsAResize(t *testing.T) {
	var out bytes.Buffer
	size := [2]int{40, 10}
	p := NewProgress(&out, true, []string{"APP", "MESSAGE"})
	p.Size = func() (int, int, error) { return size[0], size[1], nil }
	rows := [][]string{{"a", strings.Repeat("m", 60)}}
	p.Update(rows, []bool{true}, "0/1 ready")
	size = [2]int{20, 10}
	out.Reset()
	p.Update(rows, []bool{true}, "0/1 ready")
	p.Final(rows, "1/1 ready")
	for _, l := range strings.Split(out.String(), "\n") {
		for _, esc := range []string{"\x1b[?1049h", "\x1b[?1049l", "\x1b[H", "\x1b[2K", "\x1b[J"} {
			l = strings.ReplaceAll(l, esc, "")
		}
		if n := len([]rune(l)); n >= 20 {
			t.Errorf("a line of %d columns at width 20: %q", n, l)
		}
	}
}

// In a log, a wait where nothing changed for a while says it is still waiting,
// with the summary; while rows change it says nothing more.
func TestProgressPlainSaysItStillWaits(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, false, []string{"APP", "SYNC"})
	rows := [][]string{{"a", "OutOfSync"}}
	p.Update(rows, []bool{true}, "0/1 ready, 1s")
	p.Update(rows, []bool{true}, "0/1 ready, 2s")
	p.printed = p.printed.Add(-Heartbeat)
	p.Update(rows, []bool{true}, "0/1 ready, 6s; no word from the server: connection refused")
	want := "a  OutOfSync\nstill waiting: 0/1 ready, 6s; no word from the server: connection refused\n"
	if out.String() != want {
		t.Errorf("%q\nwant %q", out.String(), want)
	}
}

// A wait that hears nothing new says its last line again, rendered anew, once
// every period of silence (not before); once stopped it says nothing more. The
// test owns the clock and the ticks.
func TestStatusLinesRepeatWhenNothingNewIsSaid(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	printed := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	var clockMu sync.Mutex
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	read := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	ticks := make(chan time.Time) // unbuffered: a send returns once the loop has taken the tick
	stopped := make(chan struct{})
	n := 0
	const every = 5 * time.Second
	say, stop := statusLines(w, func(msg string) string { n++; return fmt.Sprintf("%s (%d)", msg, n) }, every,
		clock{now: read, ticks: ticks, stop: func() { close(stopped) }})
	// advance moves the clock and ticks; the second tick, at the same time,
	// is taken only once the first is handled, and says nothing by itself.
	advance := func(d time.Duration) {
		t.Helper()
		clockMu.Lock()
		now = now.Add(d)
		clockMu.Unlock()
		for range 2 {
			select {
			case ticks <- read():
			case <-time.After(testwait.Deadline):
				t.Fatal("the repeating loop took no tick")
			}
		}
	}

	advance(every) // nothing said yet: nothing to repeat
	say("0/1 ready")
	advance(every - time.Millisecond)
	if got := printed(); got != "0/1 ready (1)\n" {
		t.Fatalf("repeated before a whole period of silence: %q", got)
	}
	advance(time.Millisecond)
	advance(every)
	say("1/2 ready")
	advance(every / 2)
	want := "0/1 ready (1)\n0/1 ready (2)\n0/1 ready (3)\n1/2 ready (4)\n"
	if got := printed(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}

	stop()
	testwait.Closed(t, stopped, "the repeating loop to end")
	select {
	case ticks <- read():
		t.Error("the repeating goes on after stop")
	default:
	}
	if got := printed(); got != want {
		t.Errorf("said more after stop: %q", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
