package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The paths the image's one layer holds besides the binary.
const (
	// CACertsPath is where the layer puts the CA bundle; SSL_CERT_FILE points Go's
	// crypto/x509 at it.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// DefaultCACerts is the build machine's bundle (Debian's ca-certificates) that the
	// image carries. The image digest depends on its content: two machines with
	// different bundles build two digests from the same commit.
	DefaultCACerts = "/etc/ssl/certs/ca-certificates.crt"
	// NonRootID is the uid and gid of the image's user "nonroot" (distroless's number).
	NonRootID = 65532
)

// passwd and group name root (who owns every file) and nonroot (who runs the
// binary). nonroot's home is /tmp, the one writable directory: a runtime that sets
// HOME from /etc/passwd gives client-go a place for its discovery cache.
var (
	passwd = fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/tmp:/sbin/nologin\n", NonRootID, NonRootID)
	group  = fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRootID)
)

// file is one entry of the layer: a regular file when dir is false.
type file struct {
	name string // absolute, as the container sees it
	mode int64  // permission bits, with sticky for /tmp
	dir  bool
	data []byte
}

// rootfs is the file system of the image: the binary at /<name>, the CA bundle,
// passwd and group, and /tmp, with the parent directories of each.
func rootfs(binaryName string, binary, caCerts []byte) []file {
	files := []file{
		{name: "/" + binaryName, mode: 0o755, data: binary},
		{name: CACertsPath, mode: 0o644, data: caCerts},
		{name: "/etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "/etc/group", mode: 0o644, data: []byte(group)},
		{name: "/tmp", mode: 0o1777, dir: true},
	}
	// Every parent directory, once.
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.name] = true
	}
	for _, f := range slices.Clone(files) {
		for d := parent(f.name); d != "/"; d = parent(d) {
			if !seen[d] {
				seen[d] = true
				files = append(files, file{name: d, mode: 0o755, dir: true})
			}
		}
	}
	return files
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// layerTar writes files as one tar stream, reproducibly: entries sorted by
// path, every time mtime (no atime or ctime: the USTAR format has neither), owner
// 0:0 with no user or group names, no device numbers. Names are relative
// ("etc/passwd", directories "etc/") as in the layers docker and buildkit write.
func layerTar(files []file, mtime time.Time) ([]byte, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.name, b.name) })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime = mtime.UTC().Truncate(time.Second)
	for _, f := range files {
		h := &tar.Header{
			Name:    strings.TrimPrefix(f.name, "/"),
			Mode:    f.mode,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if f.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
