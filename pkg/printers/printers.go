package printers

import (
	"encoding/json"
	"fmt"
	yamlv2 "go.yaml.in/yaml/v2"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// ValidateFormat checks an -o value against the formats a command supports ("" is
// the table) and names them when it is not one.
func ValidateFormat(format string, allowed ...string) error {
	if format == "" {
		return nil
	}
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return fmt.Errorf("--output %q is not supported here (use %s)", format, strings.Join(allowed, ", "))
}

// Data prints v as JSON or YAML.
func Data(out io.Writer, format string, v any) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	return fmt.Errorf("unknown data format %q", format)
}

// Objects prints Kubernetes objects as a YAML stream (documents separated by ---)
// or, for json, as a v1 List, the way kubectl get -o json prints several.
func Objects(out io.Writer, format string, objs []*unstructured.Unstructured) error {
	if format == "json" {
		items := make([]any, len(objs))
		for i, o := range objs {
			items[i] = o.Object
		}
		return Data(out, "json", map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	}
	for i, o := range objs {
		if i > 0 {
			if _, err := fmt.Fprintln(out, "---"); err != nil {
				return err
			}
		}
		// yaml.v2 straight from the object: what sigs.k8s.io/yaml writes (it ends in
		// yaml.v2 too, with keys sorted alike) without its round trip through JSON.
		b, err := yamlv2.Marshal(o.Object)
		if err != nil {
			return err
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Table writes rows under a header, aligned like kubectl's tables.
func Table(out io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// IsTerminal says whether w is a terminal (live redraws) or a pipe/file (plain lines).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Dash shows an empty value as "-", as kubectl's tables do.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Redact removes a secret from text that may echo it (a server's error message).
// Secrets under 8 characters are not real keys, and replacing them would garble text.
func Redact(text, secret string) string {
	if len(secret) < 8 {
		return text
	}
	return strings.ReplaceAll(text, secret, "[redacted]")
}
