package platform_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

func mustUptime(t *testing.T, s string) *platform.Uptime {
	t.Helper()
	u, err := platform.ParseUptime(s)
	if err != nil {
		t.Fatalf("ParseUptime(%q): %v", s, err)
	}
	return u
}

func instant(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

const (
	berlinWorkdays = "Mon-Fri 07:00-20:00 Europe/Berlin"
	overnightUTC   = "Mon-Fri 22:00-06:00 UTC"
	newYorkOffice  = "Mon-Fri 09:00-17:00 America/New_York"
	// On 2026-03-29 Berlin skips 02:00-03:00; on 2026-10-25 it repeats it.
	berlinSundayNight = "Sun 02:30-05:00 Europe/Berlin"
)

// Europe/Berlin is UTC+1 (CET) until 2026-03-29 01:00 UTC and from
// 2026-10-25 01:00 UTC, UTC+2 (CEST) between. America/New_York is UTC-5 until
// 2026-03-08 07:00 UTC, UTC-4 after. 2026-01-12 is a Monday.
func TestUptimeContains(t *testing.T) {
	for _, tc := range []struct {
		spec, at string
		want     bool
	}{
		// Weekday and weekend, start inclusive, end exclusive (winter, CET).
		{berlinWorkdays, "2026-01-14T06:59:59+01:00", false},
		{berlinWorkdays, "2026-01-14T07:00:00+01:00", true},
		{berlinWorkdays, "2026-01-14T19:59:59+01:00", true},
		{berlinWorkdays, "2026-01-14T20:00:00+01:00", false},
		{berlinWorkdays, "2026-01-16T19:30:00+01:00", true},  // Friday
		{berlinWorkdays, "2026-01-17T12:00:00+01:00", false}, // Saturday
		{berlinWorkdays, "2026-01-18T12:00:00+01:00", false}, // Sunday
		{berlinWorkdays, "2026-01-19T07:00:00+01:00", true},  // Monday
		// The same instants written in UTC.
		{berlinWorkdays, "2026-01-14T05:59:59Z", false},
		{berlinWorkdays, "2026-01-14T06:00:00Z", true},
		{berlinWorkdays, "2026-01-14T18:59:59Z", true},
		{berlinWorkdays, "2026-01-14T19:00:00Z", false},
		// Spring forward (Sunday 2026-03-29): Friday before in CET, Monday after in CEST.
		{berlinWorkdays, "2026-03-27T05:30:00Z", false}, // 06:30 CET
		{berlinWorkdays, "2026-03-27T06:00:00Z", true},  // 07:00 CET
		{berlinWorkdays, "2026-03-27T18:30:00Z", true},  // 19:30 CET
		{berlinWorkdays, "2026-03-30T04:59:59Z", false}, // 06:59:59 CEST
		{berlinWorkdays, "2026-03-30T05:00:00Z", true},  // 07:00 CEST
		{berlinWorkdays, "2026-03-30T17:59:59Z", true},  // 19:59:59 CEST
		{berlinWorkdays, "2026-03-30T18:00:00Z", false}, // 20:00 CEST
		// Fall back (Sunday 2026-10-25).
		{berlinWorkdays, "2026-10-23T05:00:00Z", true},  // 07:00 CEST
		{berlinWorkdays, "2026-10-23T18:00:00Z", false}, // 20:00 CEST
		{berlinWorkdays, "2026-10-26T05:30:00Z", false}, // 06:30 CET
		{berlinWorkdays, "2026-10-26T06:00:00Z", true},  // 07:00 CET
		{berlinWorkdays, "2026-10-26T18:30:00Z", true},  // 19:30 CET
		// Day names in any case.
		{"mon-FRI 07:00-20:00 Europe/Berlin", "2026-01-14T06:00:00Z", true},
		// Overnight: from 22:00 on Mon..Fri until 06:00 the next morning.
		{overnightUTC, "2026-01-12T21:59:59Z", false},
		{overnightUTC, "2026-01-12T22:00:00Z", true},
		{overnightUTC, "2026-01-13T00:00:00Z", true},
		{overnightUTC, "2026-01-13T05:59:59Z", true},
		{overnightUTC, "2026-01-13T06:00:00Z", false},
		{overnightUTC, "2026-01-12T05:00:00Z", false}, // Monday morning: Sunday night is not in it
		{overnightUTC, "2026-01-17T05:00:00Z", true},  // Saturday morning: Friday night is
		{overnightUTC, "2026-01-17T22:00:00Z", false}, // Saturday night
		{overnightUTC, "2026-01-18T23:00:00Z", false}, // Sunday night
		// Overnight across spring forward: Saturday 22:00 CET to Sunday 06:00 CEST.
		{"Sat 22:00-06:00 Europe/Berlin", "2026-03-28T21:00:00Z", true},
		{"Sat 22:00-06:00 Europe/Berlin", "2026-03-29T03:59:59Z", true},
		{"Sat 22:00-06:00 Europe/Berlin", "2026-03-29T04:00:00Z", false},
		// End 24:00.
		{"Sun 18:00-24:00 UTC", "2026-01-18T23:59:59Z", true},
		{"Sun 18:00-24:00 UTC", "2026-01-19T00:00:00Z", false},
		{"Sun 00:00-24:00 UTC", "2026-01-18T00:00:00Z", true},
		{"Sun 00:00-24:00 UTC", "2026-01-17T23:59:59Z", false},
		// Several ranges, a single day, a wrapping day range.
		{berlinWorkdays + ", Sat 10:00-14:00 UTC", "2026-01-14T12:00:00Z", true},
		{berlinWorkdays + ", Sat 10:00-14:00 UTC", "2026-01-17T09:59:59Z", false},
		{berlinWorkdays + ", Sat 10:00-14:00 UTC", "2026-01-17T10:00:00Z", true},
		{berlinWorkdays + ", Sat 10:00-14:00 UTC", "2026-01-17T14:00:00Z", false},
		{berlinWorkdays + ", Sat 10:00-14:00 UTC", "2026-01-18T12:00:00Z", false},
		{"Sat-Mon 10:00-14:00 UTC", "2026-01-16T12:00:00Z", false}, // Friday
		{"Sat-Mon 10:00-14:00 UTC", "2026-01-17T12:00:00Z", true},
		{"Sat-Mon 10:00-14:00 UTC", "2026-01-18T12:00:00Z", true},
		{"Sat-Mon 10:00-14:00 UTC", "2026-01-19T12:00:00Z", true},
		{"Sat-Mon 10:00-14:00 UTC", "2026-01-20T12:00:00Z", false}, // Tuesday
		// always, never.
		{"always", "2026-01-17T03:00:00Z", true},
		{"ALWAYS", "2026-03-29T01:30:00Z", true},
		{"never", "2026-01-14T12:00:00Z", false},
		// America/New_York: EST before 2026-03-08, EDT after.
		{newYorkOffice, "2026-03-06T13:59:59Z", false}, // 08:59:59 EST
		{newYorkOffice, "2026-03-06T14:00:00Z", true},  // 09:00 EST
		{newYorkOffice, "2026-03-06T21:59:59Z", true},  // 16:59:59 EST
		{newYorkOffice, "2026-03-09T12:59:59Z", false}, // 08:59:59 EDT
		{newYorkOffice, "2026-03-09T13:00:00Z", true},  // 09:00 EDT
		{newYorkOffice, "2026-03-09T21:00:00Z", false}, // 17:00 EDT
		// A range in UTC, instants written in other zones: the range's zone counts.
		{"Mon-Fri 09:00-17:00 UTC", "2026-01-14T17:30:00+01:00", true},  // 16:30 UTC
		{"Mon-Fri 09:00-17:00 UTC", "2026-01-14T09:30:00+01:00", false}, // 08:30 UTC
		{"Fri 22:00-23:00 UTC", "2026-01-17T07:30:00+09:00", true},      // Saturday in Tokyo, Friday 22:30 UTC
		// Edges at a wall time that does not exist or exists twice: what time.Date makes of it.
		{berlinSundayNight, "2026-03-29T01:29:59Z", false}, // 03:29:59 CEST
		{berlinSundayNight, "2026-03-29T01:30:00Z", true},  // 02:30 is 03:30 CEST
		{berlinSundayNight, "2026-03-29T02:59:59Z", true},  // 04:59:59 CEST
		{berlinSundayNight, "2026-03-29T03:00:00Z", false}, // 05:00 CEST
		{berlinSundayNight, "2026-10-25T00:30:00Z", false}, // the first 02:30 (CEST)
		{berlinSundayNight, "2026-10-25T01:30:00Z", true},  // the second 02:30 (CET)
		{berlinSundayNight, "2026-10-25T03:59:59Z", true},  // 04:59:59 CET
		{berlinSundayNight, "2026-10-25T04:00:00Z", false}, // 05:00 CET
	} {
		u := mustUptime(t, tc.spec)
		if got := u.Contains(instant(t, tc.at)); got != tc.want {
			t.Errorf("%q contains %s: %v, want %v", tc.spec, tc.at, got, tc.want)
		}
	}
}

func TestUptimeNext(t *testing.T) {
	for _, tc := range []struct {
		spec, from, want string // want "": zero, no change
	}{
		// The weekend gap: Friday 20:00 Berlin to Monday 07:00 Berlin.
		{berlinWorkdays, "2026-01-16T20:00:00+01:00", "2026-01-19T07:00:00+01:00"},
		{berlinWorkdays, "2026-01-16T19:00:00+01:00", "2026-01-16T20:00:00+01:00"},
		{berlinWorkdays, "2026-01-14T03:00:00+01:00", "2026-01-14T07:00:00+01:00"},
		{berlinWorkdays, "2026-01-14T07:00:00+01:00", "2026-01-14T20:00:00+01:00"}, // after t, not at it
		{berlinWorkdays, "2026-01-14T06:59:59.999999999+01:00", "2026-01-14T07:00:00+01:00"},
		// Across spring forward and fall back.
		{berlinWorkdays, "2026-03-27T20:00:00+01:00", "2026-03-30T07:00:00+02:00"},
		{berlinWorkdays, "2026-03-29T01:30:00Z", "2026-03-30T05:00:00Z"},
		{berlinWorkdays, "2026-10-23T20:00:00+02:00", "2026-10-26T07:00:00+01:00"},
		{berlinWorkdays, "2026-10-25T01:30:00Z", "2026-10-26T06:00:00Z"},
		// New York, across its own change.
		{newYorkOffice, "2026-03-06T22:00:00Z", "2026-03-09T13:00:00Z"},
		{newYorkOffice, "2026-10-30T21:00:00Z", "2026-11-02T14:00:00Z"},
		// Overnight.
		{overnightUTC, "2026-01-12T12:00:00Z", "2026-01-12T22:00:00Z"},
		{overnightUTC, "2026-01-12T22:30:00Z", "2026-01-13T06:00:00Z"},
		{overnightUTC, "2026-01-16T23:00:00Z", "2026-01-17T06:00:00Z"},
		{overnightUTC, "2026-01-17T06:00:00Z", "2026-01-19T22:00:00Z"},
		// Touching and overlapping windows are one.
		{"Mon-Fri 00:00-24:00 UTC", "2026-01-12T12:00:00Z", "2026-01-17T00:00:00Z"},
		{"Mon-Fri 00:00-24:00 UTC", "2026-01-17T00:00:00Z", "2026-01-19T00:00:00Z"},
		{"Mon 08:00-12:00 UTC, Mon 10:00-14:00 UTC", "2026-01-12T09:00:00Z", "2026-01-12T14:00:00Z"},
		{"Mon 08:00-12:00 UTC, Mon 10:00-14:00 UTC", "2026-01-12T14:00:00Z", "2026-01-19T08:00:00Z"},
		{"Mon-Fri 22:00-06:00 UTC, Mon-Fri 06:00-22:00 UTC", "2026-01-13T12:00:00Z", "2026-01-17T06:00:00Z"},
		// Wall times that do not exist or exist twice.
		{berlinSundayNight, "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z"},
		{berlinSundayNight, "2026-03-29T01:30:00Z", "2026-03-29T03:00:00Z"},
		{berlinSundayNight, "2026-10-25T00:00:00Z", "2026-10-25T01:30:00Z"},
		// 00:00-03:00 and 02:30-04:00 overlap on the wall clock, yet on the
		// spring-forward day 03:00 is 01:00 UTC and 02:30 is 01:30 UTC.
		{"Sun 00:00-03:00 Europe/Berlin, Sun 02:30-04:00 Europe/Berlin", "2026-03-21T23:30:00Z", "2026-03-22T03:00:00Z"},
		{"Sun 00:00-03:00 Europe/Berlin, Sun 02:30-04:00 Europe/Berlin", "2026-03-28T23:30:00Z", "2026-03-29T01:00:00Z"},
		{"Sun 00:00-03:00 Europe/Berlin, Sun 02:30-04:00 Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"},
		{"Sun 00:00-03:00 Europe/Berlin, Sun 02:30-04:00 Europe/Berlin", "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z"},
		// No change: always, never, windows that cover all the time.
		{"always", "2026-01-14T12:00:00Z", ""},
		{"never", "2026-01-14T12:00:00Z", ""},
		{"Mon-Sun 00:00-24:00 UTC", "2026-01-14T12:00:00Z", ""},
		{"Mon-Sun 12:00-11:00 Europe/Berlin, Mon-Sun 11:00-12:00 Europe/Berlin", "2026-01-14T12:00:00Z", ""},
		// Two zones that cover all the time while London is on UTC: the first
		// gap opens when London moves to BST, months away.
		{"Mon-Sun 01:00-24:00 UTC, Mon-Sun 00:00-01:00 Europe/London", "2026-01-10T12:00:00Z", "2026-03-30T00:00:00Z"},
		{"Mon-Sun 01:00-24:00 UTC, Mon-Sun 00:00-01:00 Europe/London", "2026-03-30T00:00:00Z", "2026-03-30T01:00:00Z"},
	} {
		u := mustUptime(t, tc.spec)
		got := u.Next(instant(t, tc.from))
		if tc.want == "" {
			if !got.IsZero() {
				t.Errorf("%q next after %s: %s, want no change", tc.spec, tc.from, got)
			}
			continue
		}
		if want := instant(t, tc.want); !got.Equal(want) {
			t.Errorf("%q next after %s: %s, want %s", tc.spec, tc.from, got.UTC(), want.UTC())
		}
	}
}

// Walking minute by minute for 9 days (and looking at each edge to the
// nanosecond), Contains changes exactly at the instants Next returns.
func TestUptimeNextIsWhereContainsChanges(t *testing.T) {
	for _, tc := range []struct{ spec, from string }{
		{berlinWorkdays, "2026-03-24T00:00:00Z"},
		{berlinWorkdays, "2026-10-21T00:00:00Z"},
		{overnightUTC + ", Sat-Sun 10:00-14:00 UTC", "2026-01-12T00:00:00Z"},
		{"Mon-Fri 22:00-06:00 America/New_York", "2026-03-04T00:00:00Z"},
		{"Mon-Fri 22:00-06:00 America/New_York", "2026-10-28T00:00:00Z"},
		{"Sun 01:30-02:30 Europe/Berlin, " + berlinSundayNight + ", Sat-Mon 23:00-01:00 Europe/Berlin", "2026-03-24T00:00:00Z"},
		{"Sun 01:30-02:30 Europe/Berlin, " + berlinSundayNight + ", Sat-Mon 23:00-01:00 Europe/Berlin", "2026-10-20T00:00:00Z"},
		{"Sun 00:00-03:00 Europe/Berlin, Sun 02:30-04:00 Europe/Berlin", "2026-03-24T00:00:00Z"},
		{"Wed 10:00-11:00 Asia/Kolkata, Wed 05:00-05:30 UTC, Thu-Tue 12:00-08:00 America/New_York", "2026-03-04T00:00:00Z"},
	} {
		u := mustUptime(t, tc.spec)
		from := instant(t, tc.from)
		end := from.Add(9 * 24 * time.Hour)
		open := u.Contains(from)
		next := u.Next(from)
		changes := 0
		for at := from.Add(time.Minute); !at.After(end); at = at.Add(time.Minute) {
			now := u.Contains(at)
			if at.Equal(next) {
				if now == open || u.Contains(next.Add(-time.Nanosecond)) != open {
					t.Errorf("%q: Next says it changes at %s, it does not (%v before, %v at)", tc.spec, next.UTC(), open, now)
				}
				if mid := at.Add(-30 * time.Second); !u.Next(mid).Equal(next) {
					t.Errorf("%q: next after %s is %s, before that %s", tc.spec, mid.UTC(), u.Next(mid).UTC(), next.UTC())
				}
				open, next = now, u.Next(at)
				changes++
				continue
			}
			if now != open {
				t.Fatalf("%q: changes to %v at %s, Next said %s", tc.spec, now, at.UTC(), next.UTC())
			}
		}
		if changes < 4 {
			t.Errorf("%q: only %d changes in 9 days from %s", tc.spec, changes, tc.from)
		}
	}
}

func TestParseUptimeErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"": `empty: want comma-separated ranges such as "Mon-Fri 07:00-20:00 Europe/Berlin", always or never`,
		berlinWorkdays + ", Mon-Fry 07:00-20:00 UTC": `range 2 "Mon-Fry 07:00-20:00 UTC": unknown day "Fry" (want Mon..Sun)`,
		"Monday-Friday 07:00-20:00 UTC":              `range 1 "Monday-Friday 07:00-20:00 UTC": unknown day "Monday" (want Mon..Sun)`,
		"Mon-Fri 07:00-20:00 Europe/Berln":           `range 1 "Mon-Fri 07:00-20:00 Europe/Berln": unknown time zone "Europe/Berln" (want an IANA name such as Europe/Berlin or UTC)`,
		"Mon-Fri 07:00-20:00 utc":                    `range 1 "Mon-Fri 07:00-20:00 utc": unknown time zone "utc" (want an IANA name such as Europe/Berlin or UTC)`,
		"Mon-Fri 07:00-20:00 Local":                  `range 1 "Mon-Fri 07:00-20:00 Local": time zone Local is the machine's: name an IANA zone such as Europe/Berlin or UTC`,
		"Mon-Fri 07:00-20:00":                        `range 1 "Mon-Fri 07:00-20:00": missing time zone after 07:00-20:00 (want an IANA name such as Europe/Berlin or UTC)`,
		"Mon-Fri 07:00-25:00 UTC":                    `range 1 "Mon-Fri 07:00-25:00 UTC": bad clock "25:00" (want HH:MM from 00:00 to 24:00)`,
		"Mon-Fri 07:60-20:00 UTC":                    `range 1 "Mon-Fri 07:60-20:00 UTC": bad clock "07:60" (want HH:MM from 00:00 to 24:00)`,
		"Mon-Fri 07:00-24:30 UTC":                    `range 1 "Mon-Fri 07:00-24:30 UTC": bad clock "24:30" (want HH:MM from 00:00 to 24:00)`,
		"Mon-Fri 0700-2000 UTC":                      `range 1 "Mon-Fri 0700-2000 UTC": bad clock "0700" (want HH:MM from 00:00 to 24:00)`,
		"Mon-Fri +7:00-20:00 UTC":                    `range 1 "Mon-Fri +7:00-20:00 UTC": bad clock "+7:00" (want HH:MM from 00:00 to 24:00)`,
		"Mon-Fri 07:00 UTC":                          `range 1 "Mon-Fri 07:00 UTC": "07:00" is not a time range such as 07:00-20:00`,
		"Mon-Fri 07:00-07:00 UTC":                    `range 1 "Mon-Fri 07:00-07:00 UTC": starts and ends at 07:00: no time at all (00:00-24:00 is the whole day)`,
		"Mon-Fri 24:00-06:00 UTC":                    `range 1 "Mon-Fri 24:00-06:00 UTC": a range starts at 00:00, not 24:00 (24:00 only ends one)`,
		"Mon-Fri 07:00 - 20:00 UTC":                  `range 1 "Mon-Fri 07:00 - 20:00 UTC": not <Day>-<Day> <HH:MM>-<HH:MM> <time zone> (want a range such as "Mon-Fri 07:00-20:00 Europe/Berlin")`,
		"Mon-Fri":                                    `range 1 "Mon-Fri": not <Day>-<Day> <HH:MM>-<HH:MM> <time zone> (want a range such as "Mon-Fri 07:00-20:00 Europe/Berlin")`,
		berlinWorkdays + ",":                         `range 2 "": empty (want a range such as "Mon-Fri 07:00-20:00 Europe/Berlin")`,
		"always, " + berlinWorkdays:                  `range 1 "always": always stands alone, not beside other ranges`,
		berlinWorkdays + ", Never":                   `range 2 "Never": never stands alone, not beside other ranges`,
	} {
		u, err := platform.ParseUptime(spec)
		if err == nil || err.Error() != want {
			t.Errorf("ParseUptime(%q) = %v, %v\nwant error %s", spec, u, err, want)
		}
	}
}

func TestUptimeStringAndJSON(t *testing.T) {
	const spec = "Mon-Fri 07:00-20:00 Europe/Berlin,  sat 10:00-14:00 UTC"
	u := mustUptime(t, "  "+spec+"\n")
	if u.String() != spec {
		t.Errorf("String: %q, want %q", u, spec)
	}
	type holder struct {
		Uptime *platform.Uptime `json:"uptime,omitempty"`
	}
	b, err := json.Marshal(holder{u})
	if want := `{"uptime":"Mon-Fri 07:00-20:00 Europe/Berlin,  sat 10:00-14:00 UTC"}`; err != nil || string(b) != want {
		t.Errorf("JSON: %s %v\nwant %s", b, err, want)
	}
	var back holder
	if err := json.Unmarshal(b, &back); err != nil || back.Uptime.String() != spec ||
		!back.Uptime.Contains(instant(t, "2026-01-17T10:00:00Z")) || back.Uptime.Contains(instant(t, "2026-01-17T14:00:00Z")) {
		t.Errorf("JSON back: %v %v", back.Uptime, err)
	}
	if err := json.Unmarshal([]byte(`{"uptime":"Mon-Fry 07:00-20:00 UTC"}`), &back); err == nil {
		t.Error("a bad uptime unmarshals")
	}
	if b, _ := json.Marshal(holder{}); string(b) != `{}` {
		t.Errorf("without uptime: %s", b)
	}
	if b, _ := mustUptime(t, "never").MarshalText(); string(b) != "never" {
		t.Errorf("MarshalText: %s", b)
	}
	if s := (*platform.Uptime)(nil).String(); s != "" {
		t.Errorf("nil: %q", s)
	}
}
