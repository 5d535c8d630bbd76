// Command image builds, pushes and references the container image of
// kubectl-costgate (internal/image does the work). The Makefile runs it:
//
//	make image        go run ./hack/image build -out dist/image -version $(VERSION) -commit $(COMMIT)
//	make image-push   go run ./hack/image push -layout dist/image -repo $(REGISTRY)/kubectl-costgate
//	make release      go run ./hack/image set-image -repo … -digest $(cat dist/image/digest) FILE…
//
// build writes the OCI image layout and prints the index digest; push sends that
// layout (the very bytes built, so the same digest) to repo:<the image's version>
// and prints repo@digest; set-image rewrites the watcher container's image in each
// file to repo@digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/aidev-platform/kubectl-plugins/internal/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  image build [-dir .] [-out dist/image] [-version V] [-commit C]
  image push [-layout dist/image] -repo REGISTRY/NAME [-tag T]
  image set-image -repo REGISTRY/NAME -digest sha256:… FILE…`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("image "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "build":
		dir := fs.String("dir", ".", "the repository's root")
		out := fs.String("out", "dist/image", "the OCI image layout to write (replaced)")
		version := fs.String("version", "", "the version to stamp (default: git describe, as the Makefile)")
		commit := fs.String("commit", "", "the commit to stamp (default: HEAD)")
		if err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		return build(ctx, *dir, *out, *version, *commit, stdout, stderr)
	case "push":
		dir := fs.String("layout", "dist/image", "the OCI image layout that build wrote")
		repo := fs.String("repo", "", "the repository to push to, e.g. ghcr.io/aidev-platform/kubectl-costgate")
		tag := fs.String("tag", "", "the tag (default: the version the image was built with)")
		if err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		if *repo == "" {
			return errors.New("push: -repo is needed")
		}
		idx, err := image.ReadLayout(*dir)
		if err != nil {
			return err
		}
		if *tag == "" {
			if *tag, err = image.Version(idx); err != nil {
				return err
			}
		}
		ref, err := image.Push(ctx, idx, *repo, *tag)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "image: pushed %s:%s\n", *repo, *tag)
		fmt.Fprintln(stdout, ref.String())
		return nil
	case "set-image":
		repo := fs.String("repo", "", "the image's repository")
		digest := fs.String("digest", "", "the index digest (sha256:…)")
		if err := parse(fs, args[1:], -1); err != nil {
			return err
		}
		if *repo == "" || *digest == "" || fs.NArg() == 0 {
			return errors.New("set-image: -repo, -digest and at least one file are needed")
		}
		var errs []error
		for _, f := range fs.Args() {
			if err := image.SetImage(f, *repo, strings.TrimSpace(*digest)); err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(stderr, "image: %s: %s@%s\n", f, *repo, strings.TrimSpace(*digest))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// parse parses flags and wants exactly nargs arguments after them (any number when -1).
func parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if nargs >= 0 && fs.NArg() != nargs {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

func build(ctx context.Context, dir, out, version, commit string, stdout, stderr io.Writer) error {
	head, created, err := image.Commit(dir)
	if err != nil {
		return err
	}
	if commit == "" {
		commit = head
	}
	if version == "" {
		if version, err = image.DescribeVersion(dir); err != nil {
			return err
		}
	}
	if dirty, err := image.Dirty(dir); err != nil {
		return err
	} else if dirty {
		fmt.Fprintf(stderr, "image: warning: the work tree has uncommitted changes: this image is not the commit's and another build will differ\n")
	}
	licenses, err := image.License(dir)
	if err != nil {
		return err
	}
	o := image.Options{Dir: dir, Version: version, Commit: commit, Created: created, Licenses: licenses, Log: stderr}
	idx, err := image.Build(ctx, o)
	if err != nil {
		return err
	}
	d, err := image.WriteLayout(out, idx)
	if err != nil {
		return err
	}
	sum, err := image.Summarize(idx)
	if err != nil {
		return err
	}
	for _, s := range sum {
		fmt.Fprintf(stderr, "image: %s %s: layer %s compressed (%s uncompressed)\n",
			platform(s.Platform), s.Manifest, mib(s.Compressed), mib(s.Uncompressed))
	}
	fmt.Fprintf(stderr, "image: %s %s (commit %s, created %s) in %s\n", image.Binary, version, commit, created.Format("2006-01-02T15:04:05Z"), out)
	fmt.Fprintln(stdout, d.String())
	return nil
}

func platform(p v1.Platform) string { return p.OS + "/" + p.Architecture }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
