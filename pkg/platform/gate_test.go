package platform

import (
	"encoding/json"
	"testing"
	"time"
)

// gateWith is a sync gate's annotations plus extra ones (short keys).
func gateWith(extra map[string]string) map[string]any {
	a := map[string]any{GateAnnotationPrefix + "gate": "sync", GateAnnotationPrefix + "cost-per-hour": "0.80"}
	for k, v := range extra {
		a[GateAnnotationPrefix+k] = v
	}
	return a
}

func TestGateMaxOpen(t *testing.T) {
	for value, want := range map[string]time.Duration{
		"8h":     8 * time.Hour,
		" 90m ":  90 * time.Minute,
		"1h30m":  90 * time.Minute,
		"2d":     48 * time.Hour,
		"1d":     24 * time.Hour,
		"":       0, // unset
		"365d":   365 * 24 * time.Hour,
		"0.5h":   30 * time.Minute,
		"1500ms": 1500 * time.Millisecond,
	} {
		g, err := gateFromAnnotations(gateWith(map[string]string{"max-open": value}))
		if err != nil || g.MaxOpen != want {
			t.Errorf("max-open %q: %v %v, want %v", value, g, err, want)
		}
	}
	for _, value := range []string{"x", "0", "0s", "0d", "-1h", "-2d", "+2d", "1.5d", "d", "2 d", "1d12h", "8", "106752d"} {
		_, err := gateFromAnnotations(gateWith(map[string]string{"max-open": value}))
		want := `annotation costgate.aidev.io/max-open: "` + value + `" is not a duration such as 8h`
		if err == nil || err.Error() != want {
			t.Errorf("max-open %q: %v\nwant %s", value, err, want)
		}
	}
}

func TestGateUptime(t *testing.T) {
	g, err := gateFromAnnotations(gateWith(map[string]string{"uptime": " Mon-Fri 07:00-20:00 Europe/Berlin "}))
	if err != nil || g.Uptime.String() != "Mon-Fri 07:00-20:00 Europe/Berlin" ||
		!g.Uptime.Contains(time.Date(2026, 1, 14, 6, 0, 0, 0, time.UTC)) || g.Uptime.Contains(time.Date(2026, 1, 14, 19, 0, 0, 0, time.UTC)) {
		t.Errorf("uptime: %v %v", g, err)
	}
	if g, err := gateFromAnnotations(gateWith(nil)); err != nil || g.Uptime != nil || g.MaxOpen != 0 {
		t.Errorf("without max-open and uptime: %+v %v", g, err)
	}
	for value, want := range map[string]string{
		"Mon-Fri 07:00-20:00 Europe/Berln":             `annotation costgate.aidev.io/uptime: range 1 "Mon-Fri 07:00-20:00 Europe/Berln": unknown time zone "Europe/Berln" (want an IANA name such as Europe/Berlin or UTC)`,
		"Mon-Fri 07:00-20:00 UTC, Sat 10:00-25:00 UTC": `annotation costgate.aidev.io/uptime: range 2 "Sat 10:00-25:00 UTC": bad clock "25:00" (want HH:MM from 00:00 to 24:00)`,
		"weekdays": `annotation costgate.aidev.io/uptime: range 1 "weekdays": not <Day>-<Day> <HH:MM>-<HH:MM> <time zone> (want a range such as "Mon-Fri 07:00-20:00 Europe/Berlin")`,
	} {
		_, err := gateFromAnnotations(gateWith(map[string]string{"uptime": value}))
		if err == nil || err.Error() != want {
			t.Errorf("uptime %q: %v\nwant %s", value, err, want)
		}
	}
	// Either alone is a gate annotation: without costgate.aidev.io/gate it is refused.
	if _, err := gateFromAnnotations(map[string]any{GateAnnotationPrefix + "uptime": "always"}); err == nil ||
		err.Error() != "annotation costgate.aidev.io/uptime is set but costgate.aidev.io/gate is not" {
		t.Errorf("uptime without gate: %v", err)
	}
}

func TestGateJSONWithMaxOpenAndUptime(t *testing.T) {
	g, err := gateFromAnnotations(gateWith(map[string]string{"max-open": "8h", "uptime": "Sat 10:00-14:00 UTC"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(g)
	if want := `{"kind":"sync","costPerHour":0.8,"maxOpen":28800000000000,"uptime":"Sat 10:00-14:00 UTC"}`; err != nil || string(b) != want {
		t.Errorf("JSON: %s %v\nwant %s", b, err, want)
	}
	var back Gate
	if err := json.Unmarshal(b, &back); err != nil || back.MaxOpen != 8*time.Hour || back.Uptime.String() != "Sat 10:00-14:00 UTC" {
		t.Errorf("back: %+v %v", back, err)
	}
}
