package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DigestFile is the file of the layout folder that holds the index digest
// (sha256:…), for make release and scripts.
const DigestFile = "digest"

// WriteLayout writes idx as an OCI image layout in dir (index.json is the index
// itself), after removing what dir held, and its digest to dir/digest.
func WriteLayout(dir string, idx v1.ImageIndex) (v1.Hash, error) {
	d, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return v1.Hash{}, err
	}
	if _, err := layout.Write(dir, idx); err != nil {
		return v1.Hash{}, fmt.Errorf("writing the layout %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, DigestFile), []byte(d.String()+"\n"), 0o644); err != nil {
		return v1.Hash{}, err
	}
	return d, nil
}

// ReadLayout returns the index that WriteLayout wrote in dir: the same bytes, so
// the same digest.
func ReadLayout(dir string) (v1.ImageIndex, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the layout %s (make image writes it): %w", dir, err)
	}
	return idx, nil
}

// Version returns the version the index was built with (its annotation).
func Version(idx v1.ImageIndex) (string, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	if v := m.Annotations[LabelVersion]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("the index has no %s annotation", LabelVersion)
}

// Push writes idx and everything it references to repo:tag, with the
// credentials of the default keychain (docker's config.json, as docker login or
// crane auth login leave them), and returns repo@digest.
func Push(ctx context.Context, idx v1.ImageIndex, repo, tag string, opts ...name.Option) (name.Digest, error) {
	ref, err := name.NewTag(repo+":"+tag, append([]name.Option{name.StrictValidation}, opts...)...)
	if err != nil {
		return name.Digest{}, err
	}
	d, err := idx.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	return ref.Context().Digest(d.String()), nil
}

// PlatformSummary is what an index holds for one platform.
type PlatformSummary struct {
	Platform     v1.Platform
	Manifest     v1.Hash
	Compressed   int64 // the layers' sizes as pushed and pulled
	Uncompressed int64
}

// Summarize lists idx's platforms with their sizes.
func Summarize(idx v1.ImageIndex) ([]PlatformSummary, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []PlatformSummary
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, err
		}
		s := PlatformSummary{Manifest: desc.Digest}
		if desc.Platform != nil {
			s.Platform = *desc.Platform
		}
		layers, err := img.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range layers {
			size, err := l.Size()
			if err != nil {
				return nil, err
			}
			s.Compressed += size
			rc, err := l.Uncompressed()
			if err != nil {
				return nil, err
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
			s.Uncompressed += n
		}
		out = append(out, s)
	}
	return out, nil
}
