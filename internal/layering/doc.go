// Package layering holds the test that keeps imports pointing downward:
// plugins → pkg/cmd → domain packages (profile, costgate, smoke) → core
// packages (argocd, kube, platform, render, printers, version).
package layering
