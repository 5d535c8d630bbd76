package platform

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	// Time zones compiled in: the plugins are static binaries, and images
	// without /usr/share/zoneinfo must still read "Europe/Berlin".
	_ "time/tzdata"
)

// Uptime is when a gate may be open, the value of the annotation
// costgate.aidev.io/uptime. It reads kube-downscaler's syntax: one or more
// comma-separated ranges, each
//
//	<Day>-<Day> <HH:MM>-<HH:MM> <IANA time zone>
//
// for example "Mon-Fri 07:00-20:00 Europe/Berlin, Sat 10:00-14:00 UTC". Day
// names are Mon Tue Wed Thu Fri Sat Sun in any case; a single day stands for
// itself (kube-downscaler wants "Sat-Sat"); a day range may wrap ("Sat-Mon" is
// Saturday, Sunday and Monday). A time range includes its start and excludes
// its end; its end may be 24:00.
// "always" and "never" (in any case, alone) are the whole week and no time.
//
// Unlike kube-downscaler, a time range whose end is before its start spans
// midnight: "Mon-Fri 22:00-06:00 UTC" is open from 22:00 on each of Monday to
// Friday until 06:00 the next morning (so Saturday 05:00 is in it, Monday 05:00
// is not). kube-downscaler matches no time at all for such a range.
//
// Each range is read in its own time zone on the local wall clock: a range's
// window on a day starts at time.Date(year, month, day, HH, MM, 0, 0, zone) and
// ends likewise, so daylight saving time moves it in UTC (07:00-20:00
// Europe/Berlin is 05:00-18:00 UTC in summer, 06:00-19:00 UTC in winter). On
// the days the clocks change, a wall time that does not exist or exists twice
// is what time.Date makes of it: in Europe/Berlin on 2026-03-29 (clocks go from
// 02:00 to 03:00) an edge at 02:30 is 03:30 CEST, i.e. it moves forward by the
// hour skipped; on 2026-10-25 (03:00 back to 02:00) an edge at 02:30 is the
// second 02:30, in CET (the first one, in CEST, is before it). A window whose
// start thus falls at or after its end (02:30-03:00 that spring day) is empty,
// and ranges that overlap on the wall clock may not on that day: 00:00-03:00
// ends at 03:00 CEST, 02:30-04:00 starts at 03:30 CEST. Contains and Next
// agree on all of it. (kube-downscaler compares wall clocks instead: on such
// days it may disagree for up to the hour the clocks move.)
//
// kube-downscaler's absolute ranges (2019-04-01T08:00:00+00:00-...) are not
// read.
type Uptime struct {
	text   string
	always bool
	ranges []uptimeRange // none and !always: never
}

// uptimeRange is one range: on each of days, a window from start to end
// minutes after local midnight in loc (end < start: until end the next day).
type uptimeRange struct {
	days       [7]bool // by time.Weekday
	start, end int     // minutes; 0 <= start < 1440, 0 <= end <= 1440, start != end
	loc        *time.Location
}

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// uptimeExample is the syntax, for error messages.
const uptimeExample = `such as "Mon-Fri 07:00-20:00 Europe/Berlin"`

// ParseUptime reads an uptime (see Uptime). The error says what is wrong and
// quotes the range: range 2 "Mon-Fry 07:00-20:00 UTC": unknown day "Fry" (want Mon..Sun).
func ParseUptime(s string) (*Uptime, error) {
	s = strings.TrimSpace(s)
	u := &Uptime{text: s}
	switch strings.ToLower(s) {
	case "":
		return nil, fmt.Errorf("empty: want comma-separated ranges %s, always or never", uptimeExample)
	case "always":
		u.always = true
		return u, nil
	case "never":
		return u, nil
	}
	for i, text := range strings.Split(s, ",") {
		text = strings.TrimSpace(text)
		r, err := parseUptimeRange(text)
		if err != nil {
			return nil, fmt.Errorf("range %d %q: %v", i+1, text, err)
		}
		u.ranges = append(u.ranges, r)
	}
	return u, nil
}

func parseUptimeRange(s string) (uptimeRange, error) {
	var r uptimeRange
	f := strings.Fields(s)
	switch {
	case len(f) == 0:
		return r, fmt.Errorf("empty (want a range %s)", uptimeExample)
	case strings.EqualFold(s, "always") || strings.EqualFold(s, "never"):
		return r, fmt.Errorf("%s stands alone, not beside other ranges", strings.ToLower(s))
	case len(f) > 3 || len(f) == 1:
		return r, fmt.Errorf("not <Day>-<Day> <HH:MM>-<HH:MM> <time zone> (want a range %s)", uptimeExample)
	}
	if err := r.parseDays(f[0]); err != nil {
		return r, err
	}
	if err := r.parseTimes(f[1]); err != nil {
		return r, err
	}
	if len(f) == 2 {
		return r, fmt.Errorf("missing time zone after %s (want an IANA name such as Europe/Berlin or UTC)", f[1])
	}
	if f[2] == "Local" {
		return r, fmt.Errorf("time zone Local is the machine's: name an IANA zone such as Europe/Berlin or UTC")
	}
	loc, err := time.LoadLocation(f[2])
	if err != nil {
		return r, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Berlin or UTC)", f[2])
	}
	r.loc = loc
	return r, nil
}

func (r *uptimeRange) parseDays(s string) error {
	from, to, isRange := strings.Cut(s, "-")
	first, err := parseDay(from)
	if err != nil {
		return err
	}
	last := first
	if isRange {
		if last, err = parseDay(to); err != nil {
			return err
		}
	}
	for d := first; ; d = (d + 1) % 7 {
		r.days[d] = true
		if d == last {
			return nil
		}
	}
}

func parseDay(s string) (time.Weekday, error) {
	for d, name := range dayNames {
		if strings.EqualFold(s, name) {
			return time.Weekday(d), nil
		}
	}
	return 0, fmt.Errorf("unknown day %q (want Mon..Sun)", s)
}

func (r *uptimeRange) parseTimes(s string) error {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return fmt.Errorf("%q is not a time range such as 07:00-20:00", s)
	}
	var err error
	if r.start, err = parseClock(from); err != nil {
		return err
	}
	if r.start == 24*60 {
		return fmt.Errorf("a range starts at 00:00, not 24:00 (24:00 only ends one)")
	}
	if r.end, err = parseClock(to); err != nil {
		return err
	}
	if r.start == r.end {
		return fmt.Errorf("starts and ends at %s: no time at all (00:00-24:00 is the whole day)", from)
	}
	return nil
}

// parseClock reads HH:MM (or H:MM) from 00:00 to 24:00 as minutes.
func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 ||
		hh[0] == '+' || hh[0] == '-' || mm[0] == '+' || mm[0] == '-' ||
		h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("bad clock %q (want HH:MM from 00:00 to 24:00)", s)
	}
	return h*60 + m, nil
}

// String is the uptime as written (trimmed); "" for nil.
func (u *Uptime) String() string {
	if u == nil {
		return ""
	}
	return u.text
}

// MarshalText writes the uptime as written.
func (u *Uptime) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText reads an uptime as ParseUptime does.
func (u *Uptime) UnmarshalText(b []byte) error {
	p, err := ParseUptime(string(b))
	if err != nil {
		return err
	}
	*u = *p
	return nil
}

// MarshalJSON writes the uptime as a JSON string.
func (u *Uptime) MarshalJSON() ([]byte, error) { return json.Marshal(u.String()) }

// window is the range's window that starts on the local date of day in r.loc
// shifted by offset days, and whether the range has one that day. start >= end
// (a day the clocks change) is an empty window.
func (r uptimeRange) window(day time.Time, offset int) (start, end time.Time, ok bool) {
	y, m, d := day.Date()
	d += offset
	if !r.days[time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()] {
		return time.Time{}, time.Time{}, false
	}
	endDay := d
	if r.end < r.start {
		endDay++
	}
	start = time.Date(y, m, d, 0, r.start, 0, 0, r.loc)
	end = time.Date(y, m, endDay, 0, r.end, 0, 0, r.loc)
	return start, end, true
}

func (r uptimeRange) contains(t time.Time) bool {
	local := t.In(r.loc)
	// A window starting two days before ends by local midnight; one starting
	// tomorrow starts after it.
	for _, offset := range []int{-1, 0} {
		if s, e, ok := r.window(local, offset); ok && !t.Before(s) && t.Before(e) {
			return true
		}
	}
	return false
}

// nextEdge is the first start or end of one of the range's windows after t
// (zero: none). It looks day by day, from the window that began the day before
// (it may end after midnight) over the next 8 days: every weekday comes back
// within 7, and a window emptied by a change of the clocks does not twice.
func (r uptimeRange) nextEdge(t time.Time) time.Time {
	local := t.In(r.loc)
	var next time.Time
	for offset := -1; offset <= 8; offset++ {
		s, e, ok := r.window(local, offset)
		if !ok {
			continue
		}
		for _, edge := range []time.Time{s, e} {
			if edge.After(t) && (next.IsZero() || edge.Before(next)) {
				next = edge
			}
		}
	}
	return next
}

// Contains says whether t is within the uptime.
func (u *Uptime) Contains(t time.Time) bool {
	if u.always {
		return true
	}
	for _, r := range u.ranges {
		if r.contains(t) {
			return true
		}
	}
	return false
}

// nextHorizon bounds Next's search. Ranges that together leave no gap in a
// week change only when the clocks of one of their zones change (that can open
// a gap between ranges in two zones): two years sees every such change.
const nextHorizon = 2 * 366 * 24 * time.Hour

// Next is the first instant after t at which Contains changes: the window
// opens or closes. Overlapping and touching windows are one: their inner edges
// are not changes. Zero for always and never, and for ranges that together
// cover all the time (no change within two years). A watcher sleeps until it.
func (u *Uptime) Next(t time.Time) time.Time {
	if u.always || len(u.ranges) == 0 {
		return time.Time{}
	}
	open := u.Contains(t)
	for at := t; at.Sub(t) < nextHorizon; {
		var edge time.Time
		for _, r := range u.ranges {
			if e := r.nextEdge(at); !e.IsZero() && (edge.IsZero() || e.Before(edge)) {
				edge = e
			}
		}
		if edge.IsZero() {
			return time.Time{}
		}
		if u.Contains(edge) != open {
			return edge
		}
		at = edge
	}
	return time.Time{}
}

// parseDurationOrDays reads a duration as time.ParseDuration does, or whole
// days such as 2d (48h), as people write a lease.
func parseDurationOrDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > math.MaxInt64/int64(24*time.Hour) || n[0] == '+' {
			return 0, fmt.Errorf("%q is not a whole number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
