// Package image builds the container image of kubectl-costgate (its `watch`
// command runs in the cluster) without Docker and without a base image: one layer
// per platform holding the static binary, a CA bundle, /etc/passwd and /etc/group
// with the user nonroot (65532), and /tmp; OCI media types throughout; an OCI image
// index over linux/amd64 and linux/arm64.
//
// The build is reproducible: from one commit, with one Go toolchain and one CA
// bundle, the index digest is the same on every run. Every time in the image (file
// times, the config's created, the binary's build date) is the commit's, the binary
// is built with -trimpath and -buildvcs=false, and the layer is written in a fixed
// order and compressed with a fixed level.
//
// hack/image is the command the Makefile runs (make image, image-push, release).
package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image is.
const (
	Module      = "github.com/aidev-platform/kubectl-plugins"
	Binary      = "kubectl-costgate"
	Package     = "./plugins/kubectl-costgate"
	Source      = "https://github.com/aidev-platform/kubectl-plugins"
	Description = "kubectl costgate in the cluster: `watch` runs as a Deployment (static binary, no base image)"
	// Label keys (the OCI image spec's pre-defined annotations, used as config labels
	// and as annotations of the index).
	LabelSource      = "org.opencontainers.image.source"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelLicenses    = "org.opencontainers.image.licenses"
)

// Platforms are the image's, in the index's order.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// Options say what to build.
type Options struct {
	// Dir is the repository's root (the module that holds Package).
	Dir string
	// Version, Commit and Created are stamped into the binary (pkg/version) and the
	// image's labels; Created is also every file's time and the config's created. For
	// a reproducible image Created is the commit's time, not now (see Git).
	Version string
	Commit  string
	Created time.Time
	// Licenses is the SPDX expression of the label (see License).
	Licenses string
	// CACerts is the CA bundle to copy into the image (DefaultCACerts when empty).
	CACerts string
	// Platforms to build (the package's Platforms when empty).
	Platforms []v1.Platform
	// Log receives one line per step (nothing when nil).
	Log io.Writer
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

func (o *Options) platforms() []v1.Platform {
	if len(o.Platforms) > 0 {
		return o.Platforms
	}
	return Platforms
}

// Labels are the image's org.opencontainers.image.* labels.
func (o *Options) Labels() map[string]string {
	return map[string]string{
		LabelSource:      Source,
		LabelVersion:     o.Version,
		LabelRevision:    o.Commit,
		LabelCreated:     buildDate(o.Created),
		LabelTitle:       Binary,
		LabelDescription: Description,
		LabelLicenses:    o.Licenses,
	}
}

// buildDate is the form the Makefile and krew-manifests/dist.sh stamp.
func buildDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Build cross-compiles the binary for each platform (go build, CGO_ENABLED=0,
// -trimpath, -buildvcs=false, the Makefile's -ldflags with the commit's date) and
// assembles the index.
func Build(ctx context.Context, o Options) (v1.ImageIndex, error) {
	if o.Created.IsZero() || o.Version == "" || o.Commit == "" {
		return nil, fmt.Errorf("image: version, commit and created are needed")
	}
	binaries := map[string][]byte{}
	for _, p := range o.platforms() {
		b, err := GoBuild(ctx, o, p)
		if err != nil {
			return nil, err
		}
		binaries[p.String()] = b
	}
	return Assemble(o, binaries)
}

// LDFlags are the Makefile's build flags: stripped, version, commit and build date
// stamped into pkg/version.
func LDFlags(version, commit string, created time.Time) string {
	return strings.Join([]string{"-s", "-w",
		"-X", Module + "/pkg/version.Version=" + version,
		"-X", Module + "/pkg/version.Commit=" + commit,
		"-X", Module + "/pkg/version.BuildDate=" + buildDate(created)}, " ")
}

// GoBuild compiles Package for p and returns the binary. The go command's
// environment is pinned where it would change the output: no cgo, the baseline
// instruction sets (GOAMD64=v1, GOARM64=v8.0) and no GOFLAGS from the caller.
func GoBuild(ctx context.Context, o Options, p v1.Platform) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "image-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, Binary)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", LDFlags(o.Version, o.Commit, o.Created), "-o", out, Package)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build %s for %s: %w\n%s", Package, p, err, stderr.Bytes())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	o.logf("image: built %s for %s (%d bytes, %s)", Binary, p, len(b), time.Since(start).Round(100*time.Millisecond))
	return b, nil
}

// Assemble makes the index from one binary per platform, keyed by the
// platform's string (linux/amd64): nothing else is read but the CA bundle.
func Assemble(o Options, binaries map[string][]byte) (v1.ImageIndex, error) {
	caFile := o.CACerts
	if caFile == "" {
		caFile = DefaultCACerts
	}
	// The digest depends on this file: the build machine's bundle goes into every layer.
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("image: the CA bundle: %w", err)
	}
	labels := o.Labels()
	var adds []mutate.IndexAddendum
	for _, p := range o.platforms() {
		bin, ok := binaries[p.String()]
		if !ok {
			return nil, fmt.Errorf("image: no binary for %s", p)
		}
		img, err := platformImage(o, p, labels, bin, ca)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p, err)
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{MediaType: types.OCIManifestSchema1, Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}},
		})
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
	// The labels again as the index's annotations: registries show these for a
	// multi-platform image (ghcr.io its description).
	return mutate.Annotations(idx, labels).(v1.ImageIndex), nil
}

func platformImage(o Options, p v1.Platform, labels map[string]string, bin, ca []byte) (v1.Image, error) {
	tarBytes, err := layerTar(rootfs(Binary, bin, ca), o.Created)
	if err != nil {
		return nil, err
	}
	// gzip at a fixed level (the standard library's compress/gzip writes no name and
	// no time in its header), computed once and kept in memory. The default level:
	// BestCompression is about 1% smaller and three times slower on this binary.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.DefaultCompression), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.Created.UTC().Truncate(time.Second)}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "hack/image: " + Binary + " " + o.Version + ", CA bundle, nonroot user",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", NonRootID, NonRootID),
		Entrypoint: []string{"/" + Binary},
		Cmd:        []string{"watch"},
		Env:        []string{"SSL_CERT_FILE=" + CACertsPath},
		WorkingDir: "/",
		Labels:     labels,
	}
	return mutate.ConfigFile(img, cf)
}
