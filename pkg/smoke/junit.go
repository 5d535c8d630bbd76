package smoke

import (
	"encoding/xml"
	"fmt"
	"io"
)

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes checks as a JUnit XML test suite, for CI dashboards: FAIL is a
// failure, SKIP skipped, WARN passes with its message in system-out.
func WriteJUnit(w io.Writer, suite string, checks []Check) error {
	s := junitSuite{Name: suite, Tests: len(checks)}
	total := 0.0
	for _, c := range checks {
		secs := c.Duration.Seconds()
		total += secs
		tc := junitCase{Name: c.Name, Classname: suite, Time: fmt.Sprintf("%.3f", secs), SystemOut: c.Status + ": " + c.Message}
		switch c.Status {
		case Fail:
			s.Failures++
			tc.Failure = &junitMessage{Message: c.Message}
			if c.Fix != "" {
				tc.Failure.Body = "fix: " + c.Fix
			}
		case Skip:
			s.Skipped++
			tc.Skipped = &junitMessage{Message: c.Message}
		}
		s.Cases = append(s.Cases, tc)
	}
	s.Time = fmt.Sprintf("%.3f", total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
