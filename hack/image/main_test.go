package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/aidev-platform/kubectl-plugins/internal/image"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// make image-push then make release, on a layout assembled from stand-in
// binaries: push prints repo@digest and tags the image's version, set-image
// points the watcher at it.
func TestPushThenSetImage(t *testing.T) {
	o := image.Options{Version: "v1.2.3", Commit: strings.Repeat("a", 40), Created: time.Unix(1764922080, 0).UTC(), Licenses: "Apache-2.0"}
	idx, err := image.Assemble(o, map[string][]byte{"linux/amd64": []byte("a"), "linux/arm64": []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	layoutDir := filepath.Join(t.TempDir(), "image")
	digest, err := image.WriteLayout(layoutDir, idx)
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("DOCKER_CONFIG", t.TempDir()) // the default keychain finds no credentials
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	repo := strings.TrimPrefix(srv.URL, "http://") + "/aidev-platform/kubectl-costgate"

	stdout, stderr, err := runCmd(t, "push", "-layout", layoutDir, "-repo", repo)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, stderr)
	}
	if want := repo + "@" + digest.String() + "\n"; stdout != want {
		t.Errorf("push printed %q, want %q", stdout, want)
	}
	tag, err := name.NewTag(repo + ":v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if desc, err := remote.Head(tag); err != nil || desc.Digest != digest {
		t.Errorf("%s: %+v (%v), want %s", tag, desc, err, digest)
	}

	dir := t.TempDir()
	files := []string{filepath.Join(dir, "ai-dev.yaml"), filepath.Join(dir, "sandbox.yaml"), filepath.Join(dir, "other.yaml")}
	deploy := "spec:\n  template:\n    spec:\n      containers:\n        - name: watcher\n          image: " + repo + ":v0.1.0  # make release\n"
	for _, f := range files[:2] {
		if err := os.WriteFile(f, []byte(deploy), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(files[2], []byte("containers: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	digestFile, _ := os.ReadFile(filepath.Join(layoutDir, "digest"))
	_, stderr, err = runCmd(t, append([]string{"set-image", "-repo", repo, "-digest", string(digestFile)}, files...)...)
	if err == nil || !strings.Contains(err.Error(), files[2]) {
		t.Errorf("set-image with a file without the watcher: %v, want an error naming %s", err, files[2])
	}
	for _, f := range files[:2] {
		b, _ := os.ReadFile(f)
		if want := strings.Replace(deploy, ":v0.1.0", "@"+digest.String(), 1); string(b) != want {
			t.Errorf("%s:\n%s\nwant:\n%s", f, b, want)
		}
		if !strings.Contains(stderr, f) {
			t.Errorf("stderr %q does not say %s changed", stderr, f)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{nil, "usage:"},
		{[]string{"publish"}, `unknown command "publish"`},
		{[]string{"push"}, "-repo is needed"},
		{[]string{"push", "-repo", "r", "extra"}, "unexpected arguments"},
		{[]string{"push", "-repo", "127.0.0.1:1/x", "-layout", "/nonexistent"}, "make image writes it"},
		{[]string{"set-image", "-repo", "r", "-digest", "sha256:0"}, "at least one file"},
		{[]string{"build", "-nope"}, "flag provided but not defined"},
	} {
		_, _, err := runCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q: error %v, want one with %q", tc.args, err, tc.wantErr)
		}
	}
}
