package image

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"
)

// Container is the name of the watcher Deployments' container whose image
// SetImage rewrites.
const Container = "watcher"

// SetImage points the image of the container named watcher in the manifests file
// at path to repo@digest, where that image is already of repo (repo, repo:tag,
// repo@digest or repo:tag@digest). Every other byte of the file stays as it was:
// comments, order, quoting and the other documents of a multi-document file. It
// fails, naming the file, when no such container is there.
func SetImage(path, repo, digest string) error {
	if _, err := v1.NewHash(digest); err != nil {
		return fmt.Errorf("digest %q: %w", digest, err)
	}
	if repo == "" || strings.ContainsAny(repo, "@ ") {
		return fmt.Errorf("repository %q: want a name without a tag or digest", repo)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	nodes, err := watcherImages(data, repo)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(nodes) == 0 {
		return fmt.Errorf("%s: no container named %q with an image of %s", path, Container, repo)
	}
	out, err := replaceScalars(data, nodes, repo+"@"+digest)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(out, data) {
		return nil
	}
	return os.WriteFile(path, out, st.Mode().Perm())
}

// watcherImages finds, in every document, the image scalars of the containers
// (and init containers) named watcher whose image is of repo.
func watcherImages(data []byte, repo string) ([]*yaml.Node, error) {
	var found []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return found, nil
		}
		if err != nil {
			return nil, err
		}
		walk(&doc, func(n *yaml.Node) {
			if n.Kind != yaml.MappingNode {
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if (k.Value != "containers" && k.Value != "initContainers") || v.Kind != yaml.SequenceNode {
					continue
				}
				for _, c := range v.Content {
					name, img := field(c, "name"), field(c, "image")
					if name != nil && name.Value == Container && img != nil && img.Kind == yaml.ScalarNode && ofRepo(img.Value, repo) {
						found = append(found, img)
					}
				}
			}
		})
	}
}

func walk(n *yaml.Node, f func(*yaml.Node)) {
	f(n)
	for _, c := range n.Content {
		walk(c, f)
	}
}

func field(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ofRepo says whether the image reference ref names repo.
func ofRepo(ref, repo string) bool {
	rest, ok := strings.CutPrefix(ref, repo)
	return ok && (rest == "" || rest[0] == ':' || rest[0] == '@')
}

// replaceScalars replaces each node's text in data by value, in the node's
// quoting style. A node is found by its line and column; only one-line plain,
// single- and double-quoted scalars are replaced.
func replaceScalars(data []byte, nodes []*yaml.Node, value string) ([]byte, error) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	// From the end, so that a replacement moves nothing not yet replaced.
	nodes = slices.Clone(nodes)
	slices.SortFunc(nodes, func(a, b *yaml.Node) int { return cmp.Or(b.Line-a.Line, b.Column-a.Column) })
	for _, n := range nodes {
		if n.Line < 1 || n.Line > len(lines) {
			return nil, fmt.Errorf("line %d: out of the file", n.Line)
		}
		line := lines[n.Line-1]
		start := byteOffset(line, n.Column-1)
		end, err := scalarEnd(line, start, n)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		var repl string
		switch n.Style {
		case yaml.DoubleQuotedStyle:
			repl = `"` + value + `"`
		case yaml.SingleQuotedStyle:
			repl = `'` + value + `'`
		default:
			repl = value
		}
		var b []byte
		b = append(b, line[:start]...)
		b = append(b, repl...)
		b = append(b, line[end:]...)
		lines[n.Line-1] = b
	}
	return bytes.Join(lines, nil), nil
}

// byteOffset is the byte offset of the col'th character (from 0) of line.
func byteOffset(line []byte, col int) int {
	off := 0
	for range col {
		if off >= len(line) {
			break
		}
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	return off
}

// scalarEnd returns where the scalar n that starts at start in line ends.
func scalarEnd(line []byte, start int, n *yaml.Node) (int, error) {
	rest := string(line[start:])
	var raw string
	switch n.Style {
	case yaml.DoubleQuotedStyle:
		raw = `"` + n.Value + `"`
	case yaml.SingleQuotedStyle:
		raw = `'` + strings.ReplaceAll(n.Value, `'`, `''`) + `'`
	case 0, yaml.FlowStyle:
		raw = n.Value
	default:
		return 0, fmt.Errorf("the image %q is a block scalar: write it on one line", n.Value)
	}
	if !strings.HasPrefix(rest, raw) {
		return 0, fmt.Errorf("the image %q is not written as one plain or quoted value on its line", n.Value)
	}
	return start + len(raw), nil
}
