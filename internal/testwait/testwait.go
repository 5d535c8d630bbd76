// Package testwait reads channels in tests with a deadline, so an implementation
// that never sends (or never closes) fails the test with what it was waiting
// for, instead of hanging it until go test's own timeout kills the whole run.
//
// The deadline is a failure bound, never a timing assertion: it is generous so
// that a loaded machine never trips it; a test that means "within N" says so
// itself.
package testwait

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Deadline bounds every wait of this package.
const Deadline = 30 * time.Second

// deadline is Deadline, shorter in this package's own tests of the failures.
var deadline = Deadline

// Recv returns the next value from c. It fails t if c is closed or nothing
// arrives within Deadline; what names the awaited value in the message.
func Recv[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	select {
	case v, ok := <-c:
		if !ok {
			t.Fatalf("waiting for %s: the channel closed", what)
		}
		return v
	case <-timer.C:
		t.Fatalf("waited %s for %s: nothing came", deadline, what)
	}
	panic("unreachable")
}

// Until reads values from c until one satisfies cond, and returns it. It fails
// t if c closes first or none does within Deadline (for all of them).
func Until[T any](t testing.TB, c <-chan T, what string, cond func(T) bool) T {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	n := 0
	for {
		select {
		case v, ok := <-c:
			if !ok {
				t.Fatalf("waiting for %s: the channel closed after %d values that were not it", what, n)
			}
			if cond(v) {
				return v
			}
			n++
		case <-timer.C:
			t.Fatalf("waited %s for %s: %d values came, none was it", deadline, what, n)
		}
	}
}

// Closed reads c until it closes and returns what came before. It fails t if c
// is still open after Deadline.
func Closed[T any](t testing.TB, c <-chan T, what string) []T {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	var got []T
	for {
		select {
		case v, ok := <-c:
			if !ok {
				return got
			}
			got = append(got, v)
		case <-timer.C:
			t.Fatalf("waited %s for %s: still open after %d values", deadline, what, len(got))
		}
	}
}

// Done waits for ctx to end, for fakes that hold a request until the code under
// test gives up on it (a server that never answers). It returns ctx.Err(), or,
// if ctx is still live after Deadline, an error saying so: the fake then ends
// and the test fails on what the code under test made of that, instead of
// hanging. It needs no t, so it can run in a handler's goroutine.
func Done(ctx context.Context, what string) error {
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("testwait: %s did not end within %s", what, deadline)
	}
}
