package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// repoRoot is the repository the tests build from.
const repoRoot = "../.."

// testOptions builds from the repository's HEAD, as make image does.
func testOptions(t testing.TB) Options {
	t.Helper()
	commit, created, err := Commit(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	licenses, err := License(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Dir: repoRoot, Version: "v0.0.0-imagetest", Commit: commit, Created: created, Licenses: licenses}
}

// startRegistry serves an in-process registry on 127.0.0.1 (plain HTTP, which
// go-containerregistry uses for loopback) and returns its host:port. The default
// keychain reads an empty docker config: the push is anonymous.
func startRegistry(t testing.TB) string {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pulled is what checkPulled read back of one platform's image.
type pulled struct {
	config *v1.ConfigFile
	files  map[string]*tar.Header
	binary []byte
}

// checkPulled pulls repo@digest back from the registry and checks the index and
// each image against o: exactly linux/amd64 and linux/arm64, OCI media types, the
// config (entrypoint, user, labels, ...) and the layer's files.
func checkPulled(t *testing.T, ref name.Digest, o Options) map[string]pulled {
	t.Helper()
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := idx.Digest(); err != nil || d.String() != ref.DigestStr() {
		t.Fatalf("pulled index digest %v (%v), want %s", d, err, ref.DigestStr())
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || m.SchemaVersion != 2 {
		t.Errorf("index media type %q schema %d, want %q 2", m.MediaType, m.SchemaVersion, types.OCIImageIndex)
	}
	if m.Annotations[LabelRevision] != o.Commit || m.Annotations[LabelVersion] != o.Version {
		t.Errorf("index annotations %v: want the revision and version", m.Annotations)
	}
	var platforms []string
	out := map[string]pulled{}
	wantLabels := map[string]string{
		LabelSource:      "https://github.com/aidev-platform/kubectl-plugins",
		LabelVersion:     o.Version,
		LabelRevision:    o.Commit,
		LabelCreated:     o.Created.UTC().Format(time.RFC3339),
		LabelTitle:       "kubectl-costgate",
		LabelDescription: Description,
		LabelLicenses:    "Apache-2.0",
	}
	for _, desc := range m.Manifests {
		if desc.Platform == nil {
			t.Fatalf("manifest %s has no platform", desc.Digest)
		}
		p := desc.Platform.OS + "/" + desc.Platform.Architecture
		platforms = append(platforms, p)
		if desc.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s: media type %q", p, desc.MediaType)
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		man, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if man.Config.MediaType != types.OCIConfigJSON || len(man.Layers) != 1 || man.Layers[0].MediaType != types.OCILayer {
			t.Errorf("%s: config %q, layers %+v: want OCI config and one OCI layer", p, man.Config.MediaType, man.Layers)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("%s: config says %s/%s", p, cf.OS, cf.Architecture)
		}
		c := cf.Config
		if !slices.Equal(c.Entrypoint, []string{"/kubectl-costgate"}) || !slices.Equal(c.Cmd, []string{"watch"}) ||
			c.User != "65532:65532" || c.WorkingDir != "/" ||
			!slices.Equal(c.Env, []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}) {
			t.Errorf("%s: config %+v", p, c)
		}
		if !cf.Created.Equal(o.Created) {
			t.Errorf("%s: created %v, want the commit's %v", p, cf.Created, o.Created)
		}
		for k, v := range wantLabels {
			if c.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q", p, k, c.Labels[k], v)
			}
		}
		if len(c.Labels) != len(wantLabels) {
			t.Errorf("%s: labels %v", p, c.Labels)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		pl := pulled{config: cf, files: map[string]*tar.Header{}}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			pl.files[h.Name] = h
			if !h.ModTime.Equal(o.Created) || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s: %s: mtime %v owner %d:%d, want the commit's time and 0:0", p, h.Name, h.ModTime, h.Uid, h.Gid)
			}
			if h.Name == "kubectl-costgate" {
				if pl.binary, err = io.ReadAll(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		rc.Close()
		if h := pl.files["kubectl-costgate"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != 0o755 || len(pl.binary) == 0 {
			t.Errorf("%s: /kubectl-costgate %+v: want an executable file", p, h)
		}
		ca, err := os.ReadFile(DefaultCACerts)
		if err != nil {
			t.Fatal(err)
		}
		if h := pl.files["etc/ssl/certs/ca-certificates.crt"]; h == nil || h.Size != int64(len(ca)) {
			t.Errorf("%s: the CA bundle %+v: want the build machine's (%d bytes)", p, h, len(ca))
		}
		for _, f := range []string{"etc/passwd", "etc/group"} {
			if pl.files[f] == nil {
				t.Errorf("%s: no /%s", p, f)
			}
		}
		if h := pl.files["tmp/"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o1777 {
			t.Errorf("%s: /tmp %+v: want a directory 1777", p, h)
		}
		out[p] = pl
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v, want exactly linux/amd64 and linux/arm64", platforms)
	}
	return out
}

// Assembled from stand-in binaries (no compile): the same input makes the same
// digest, and what is pushed to a registry pulls back as built.
func TestAssemblePushPull(t *testing.T) {
	o := testOptions(t)
	bins := map[string][]byte{"linux/amd64": []byte("amd64 binary"), "linux/arm64": []byte("arm64 binary")}
	idx, err := Assemble(o, bins)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Assemble(o, bins)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two assemblies: %s and %s", d1, d2)
	}
	o2 := o
	o2.Commit = strings.Repeat("0", 40)
	other, err := Assemble(o2, bins)
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := other.Digest(); d3 == d1 {
		t.Error("another commit made the same digest")
	}

	// Through the layout, as make image then make image-push do.
	dir := filepath.Join(t.TempDir(), "image")
	if err := os.MkdirAll(filepath.Join(dir, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	ld, err := WriteLayout(dir, idx)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "digest")); string(b) != d1.String()+"\n" {
		t.Errorf("digest file %q, want %s", b, d1)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); !os.IsNotExist(err) {
		t.Errorf("the layout folder kept what it held: %v", err)
	}
	fromLayout, err := ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := fromLayout.Digest(); d != ld || ld != d1 {
		t.Errorf("layout digest %s, read back %s, built %s", ld, d, d1)
	}
	if v, err := Version(fromLayout); err != nil || v != o.Version {
		t.Errorf("version %q (%v), want %q", v, err, o.Version)
	}

	host := startRegistry(t)
	ref, err := Push(context.Background(), fromLayout, host+"/aidev-platform/kubectl-costgate", o.Version)
	if err != nil {
		t.Fatal(err)
	}
	if ref.DigestStr() != d1.String() {
		t.Errorf("pushed %s, want digest %s", ref, d1)
	}
	got := checkPulled(t, ref, o)
	for p, b := range bins {
		if string(got[p].binary) != string(b) {
			t.Errorf("%s: binary %q, want %q", p, got[p].binary, b)
		}
	}
	// The tag points at the index too.
	tagged, err := name.NewTag(host + "/aidev-platform/kubectl-costgate:" + o.Version)
	if err != nil {
		t.Fatal(err)
	}
	if desc, err := remote.Head(tagged); err != nil || desc.Digest != d1 {
		t.Errorf("the tag: %+v (%v), want %s", desc, err, d1)
	}
}

// The real build, twice, from the repository: each compiles the binary for both
// platforms with the go command (its build cache is used as make image uses it)
// and the two give one digest. What is pushed pulls back as built, and the
// amd64 binary from the pulled layer runs.
func TestBuildReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles kubectl-costgate four times (two builds of two platforms)")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 binary it builds")
	}
	o := testOptions(t)
	var digests []v1.Hash
	var last v1.ImageIndex
	for i := range 2 {
		start := time.Now()
		idx, err := Build(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("build %d: %s in %s", i+1, d, time.Since(start).Round(time.Second))
		digests = append(digests, d)
		last = idx
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds of one commit: %s and %s", digests[0], digests[1])
	}
	sum, err := Summarize(last)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sum {
		t.Logf("%s/%s: %s, layer %d bytes compressed, %d uncompressed", s.Platform.OS, s.Platform.Architecture, s.Manifest, s.Compressed, s.Uncompressed)
	}

	host := startRegistry(t)
	ref, err := Push(context.Background(), last, host+"/aidev-platform/kubectl-costgate", o.Version)
	if err != nil {
		t.Fatal(err)
	}
	got := checkPulled(t, ref, o)

	bin := filepath.Join(t.TempDir(), "kubectl-costgate")
	if err := os.WriteFile(bin, got["linux/amd64"].binary, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl-costgate version: %v\n%s", err, out)
	}
	// The stamp is the Makefile's: version, commit and the commit's date.
	for _, want := range []string{o.Version, o.Commit, o.Created.UTC().Format("2006-01-02T15:04:05Z"), "linux/amd64"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("kubectl-costgate version says %q, want %q in it", out, want)
		}
	}
	if got["linux/arm64"].binary[18] != 0xb7 || got["linux/amd64"].binary[18] != 0x3e { // ELF e_machine: EM_AARCH64, EM_X86_64
		t.Errorf("ELF machines %#x and %#x, want arm64's and amd64's", got["linux/arm64"].binary[18], got["linux/amd64"].binary[18])
	}
}

// BenchmarkImageBuild is make image without writing the layout: two compiles
// (the go build cache warm after the first) and the assembly with its gzip.
func BenchmarkImageBuild(b *testing.B) {
	o := testOptions(b)
	var idx v1.ImageIndex
	for b.Loop() {
		var err error
		if idx, err = Build(context.Background(), o); err != nil {
			b.Fatal(err)
		}
		if _, err := idx.Digest(); err != nil {
			b.Fatal(err)
		}
	}
	sum, err := Summarize(idx)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sum {
		b.ReportMetric(float64(s.Compressed)/(1<<20), s.Platform.Architecture+"-MiB")
	}
}
