package testwait

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatal is a testing.TB whose Fatalf records the message and ends the
// goroutine, as testing.T's does.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Helper() {}
func (f *fatal) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs wait with a recording TB in a goroutine of its own and returns
// what it failed with ("" if it returned).
func failure(t *testing.T, wait func(testing.TB)) string {
	f := &fatal{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait(f)
	}()
	<-done // wait ends: every path returns or calls Goexit, within deadline
	return f.msg
}

func TestReadsThatSucceed(t *testing.T) {
	c := make(chan int, 3)
	c <- 1
	if v := Recv(t, c, "one"); v != 1 {
		t.Errorf("Recv %d", v)
	}
	c <- 2
	c <- 3
	c <- 4
	if v := Until(t, c, "three", func(v int) bool { return v == 3 }); v != 3 {
		t.Errorf("Until %d", v)
	}
	close(c)
	if got := Closed(t, c, "the end"); len(got) != 1 || got[0] != 4 {
		t.Errorf("Closed %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Done(ctx, "the request"); err != context.Canceled {
		t.Errorf("Done %v", err)
	}
}

func TestReadsThatFailSayWhatTheyAwaited(t *testing.T) {
	defer func(d time.Duration) { deadline = d }(deadline)
	deadline = 10 * time.Millisecond
	never := make(chan int)
	closed := make(chan int)
	close(closed)
	for _, tc := range []struct {
		name string
		wait func(testing.TB)
		want string
	}{
		{"nothing sent", func(t testing.TB) { Recv(t, never, "the first set") }, "waited 10ms for the first set: nothing came"},
		{"closed", func(t testing.TB) { Recv(t, closed, "the first set") }, "waiting for the first set: the channel closed"},
		{"never satisfied", func(t testing.TB) { Until(t, never, "app a synced", func(int) bool { return true }) }, "waited 10ms for app a synced: 0 values came, none was it"},
		{"closed before satisfied", func(t testing.TB) { Until(t, closed, "app a synced", func(int) bool { return true }) }, "waiting for app a synced: the channel closed after 0 values"},
		{"never closed", func(t testing.TB) { Closed(t, never, "the refused watch's end") }, "waited 10ms for the refused watch's end: still open after 0 values"},
	} {
		if got := failure(t, tc.wait); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if err := Done(context.Background(), "the request"); err == nil || err.Error() != "testwait: the request did not end within 10ms" {
		t.Errorf("Done: %v", err)
	}
}
