package image

import (
	"archive/tar"
	"bytes"
	"io"
	"slices"
	"testing"
	"time"
)

// The layer's tar: every entry sorted, at the given time, owned by 0:0, with the
// modes the image needs, USTAR (so no PAX records, no atime or ctime).
func TestLayerTar(t *testing.T) {
	mtime := time.Date(2025, 12, 5, 8, 8, 0, 0, time.FixedZone("CET", 3600))
	b, err := layerTar(rootfs("kubectl-costgate", []byte("binary"), []byte("certs")), mtime)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		name string
		typ  byte
		mode int64
		data string
	}
	want := []entry{
		{"etc/", tar.TypeDir, 0o755, ""},
		{"etc/group", tar.TypeReg, 0o644, "root:x:0:\nnonroot:x:65532:\n"},
		{"etc/passwd", tar.TypeReg, 0o644, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n"},
		{"etc/ssl/", tar.TypeDir, 0o755, ""},
		{"etc/ssl/certs/", tar.TypeDir, 0o755, ""},
		{"etc/ssl/certs/ca-certificates.crt", tar.TypeReg, 0o644, "certs"},
		{"kubectl-costgate", tar.TypeReg, 0o755, "binary"},
		{"tmp/", tar.TypeDir, 0o1777, ""},
	}
	var got []entry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry{h.Name, h.Typeflag, h.Mode, string(data)})
		if h.Format != tar.FormatUSTAR || len(h.PAXRecords) > 0 {
			t.Errorf("%s: format %v, PAX records %v: want USTAR and none", h.Name, h.Format, h.PAXRecords)
		}
		if !h.ModTime.Equal(mtime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: mtime %v atime %v ctime %v: want %v and no others", h.Name, h.ModTime, h.AccessTime, h.ChangeTime, mtime)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d (%q:%q), want 0:0", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries:\n got %+v\nwant %+v", got, want)
	}
	// The same input, the same bytes.
	again, err := layerTar(rootfs("kubectl-costgate", []byte("binary"), []byte("certs")), mtime.UTC())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("two tars of the same files differ")
	}
}
