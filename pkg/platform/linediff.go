package platform

import "github.com/aidev-platform/kubectl-plugins/internal/linediff"

// LineDiff returns the lines removed (-) and added (+) to turn a into b, with up to
// three unchanged lines of context around each change and "@@ line N" markers, by
// longest common subsequence. Inputs here are small (a group list, one object).
func LineDiff(a, b string) string { return linediff.Diff(a, b) }
