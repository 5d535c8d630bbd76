package linediff

import "testing"

// A change shows with three lines of context on each side and where it is.
func TestDiff(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"x\n", "x\n", ""},
		{"", "y\n", "@@ line 1\n+ y\n"},
		{"a\nb\nc\nd\ne\nf\ng\nh\ni\n", "a\nb\nc\nd\nE\nf\ng\nh\ni\n", "@@ line 2\n  b\n  c\n  d\n- e\n+ E\n  f\n  g\n  h\n"},
	} {
		if got := Diff(tc.a, tc.b); got != tc.want {
			t.Errorf("Diff(%q, %q):\n%q\nwant\n%q", tc.a, tc.b, got, tc.want)
		}
	}
}
