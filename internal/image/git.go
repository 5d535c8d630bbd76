package image

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Commit returns HEAD's commit of the repository at dir and its time: the
// committer date (git log -1 --format=%cI), or SOURCE_DATE_EPOCH when set, as
// krew-manifests/dist.sh takes it. The time is what makes the build reproducible:
// the same commit gives the same time on every machine.
func Commit(dir string) (commit string, created time.Time, err error) {
	commit, err = git(dir, "rev-parse", "HEAD")
	if err != nil {
		return "", time.Time{}, err
	}
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" {
		s, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", epoch, err)
		}
		return commit, time.Unix(s, 0).UTC(), nil
	}
	iso, err := git(dir, "log", "-1", "--format=%cI")
	if err != nil {
		return "", time.Time{}, err
	}
	created, err = time.Parse(time.RFC3339, iso)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("the commit's date %q: %w", iso, err)
	}
	return commit, created.UTC(), nil
}

// Dirty says whether the work tree at dir has changes that are not committed: an
// image built from it is not the commit's.
func Dirty(dir string) (bool, error) {
	out, err := git(dir, "status", "--porcelain", "--untracked-files=no")
	return out != "", err
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(string(out)), nil
}

// License returns the SPDX identifier of the repository's LICENSE from its first
// lines: Apache-2.0 or MIT, else NOASSERTION (the SPDX word for "not said").
func License(dir string) (string, error) {
	f, err := os.Open(filepath.Join(dir, "LICENSE"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	var head strings.Builder
	sc := bufio.NewScanner(f)
	for i := 0; i < 3 && sc.Scan(); i++ {
		head.WriteString(strings.TrimSpace(sc.Text()) + " ")
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	switch h := head.String(); {
	case strings.Contains(h, "Apache License") && strings.Contains(h, "Version 2.0"):
		return "Apache-2.0", nil
	case strings.Contains(h, "MIT License"):
		return "MIT", nil
	}
	return "NOASSERTION", nil
}

// DescribeVersion is the Makefile's VERSION: git describe --tags --match 'v*'
// --dirty, else v0.1.0-dev.
func DescribeVersion(dir string) (string, error) {
	if v, err := git(dir, "describe", "--tags", "--match", "v*", "--dirty"); err == nil && v != "" {
		return v, nil
	}
	return "v0.1.0-dev", nil
}
