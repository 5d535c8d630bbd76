// Package smoke is the platform's smoke gate: read-only doctor checks of the
// cluster, Argo CD and the deployed profile, and the authenticated chat probe.
package smoke
