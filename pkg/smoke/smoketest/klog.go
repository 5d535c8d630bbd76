package smoketest

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// CaptureKlog sends klog's output to a buffer instead of stderr, at verbosity
// (0 leaves it to the command's -v), and restores klog when the test ends.
func CaptureKlog(t testing.TB, verbosity int) *bytes.Buffer {
	t.Helper()
	var logs bytes.Buffer
	flags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(flags)
	settings := map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"}
	if verbosity > 0 {
		settings["v"] = strconv.Itoa(verbosity)
	}
	for k, v := range settings {
		if err := flags.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	klog.SetOutput(&logs)
	t.Cleanup(func() {
		klog.Flush()
		for k, v := range map[string]string{"v": "0", "logtostderr": "true", "stderrthreshold": "ERROR"} {
			_ = flags.Set(k, v)
		}
		klog.SetOutput(os.Stderr)
	})
	return &logs
}

// Leaks returns the 12-character pieces of secret found in text, in the
// secret's own form and in base64 (how a JSON Secret carries it, with or
// without the trailing newline of a file).
func Leaks(text, secret string) []string {
	var found []string
	forms := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.StdEncoding.EncodeToString([]byte(secret + "\n"))}
	for _, form := range forms {
		for i := 0; i+12 <= len(form); i++ {
			if piece := form[i : i+12]; strings.Contains(text, piece) {
				found = append(found, piece)
			}
		}
	}
	return found
}
