package platform

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// compare says whether have means what want says: the same YAML data, whatever
// the formatting, key order, quoting style and comments. When it does not, the
// diff is of the data: have as resolve would format it, under want's header,
// against want, so only what changes in meaning shows (the raw text when have
// is not YAML at all).
func compare(have, want []byte) (fresh bool, diff string) {
	if bytes.Equal(have, want) { // what resolve wrote, untouched: no need to parse
		return true, ""
	}
	w, err := parseDocs(want)
	if err != nil {
		return false, LineDiff(string(have), string(want))
	}
	h, err := parseDocs(have)
	if err != nil {
		return false, LineDiff(string(have), string(want))
	}
	if sameData(h, w) {
		return true, ""
	}
	var canon strings.Builder
	canon.WriteString(leadingComments(string(want)))
	for i, d := range h {
		if i > 0 {
			canon.WriteString("---\n")
		}
		b, err := yaml.Marshal(d)
		if err != nil {
			return false, LineDiff(string(have), string(want))
		}
		canon.Write(b)
	}
	return false, LineDiff(canon.String(), string(want))
}

// parseDocs reads every non-empty document of a YAML text as plain data.
func parseDocs(data []byte) ([]any, error) {
	var out []any
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		raw, err := dec.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var doc any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		if doc != nil {
			out = append(out, doc)
		}
	}
}

// sameData compares parsed YAML. Two strings that differ as text but both hold
// a YAML collection (a kustomization's inline patch, say) compare as that data.
func sameData(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameData(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameData(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		px, errx := parseDocs([]byte(x))
		py, erry := parseDocs([]byte(y))
		return errx == nil && erry == nil && collections(px) && collections(py) && sameData(px, py)
	default:
		return reflect.DeepEqual(a, b)
	}
}

// collections says whether every document is a map or a list.
func collections(docs []any) bool {
	if len(docs) == 0 {
		return false
	}
	for _, d := range docs {
		switch d.(type) {
		case map[string]any, []any:
		default:
			return false
		}
	}
	return true
}

// leadingComments is the comment lines a text starts with.
func leadingComments(s string) string {
	var sb strings.Builder
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(line, "#") {
			break
		}
		sb.WriteString(line)
	}
	return sb.String()
}
