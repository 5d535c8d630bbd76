// Package profile is `kubectl profile`: additive deployment profiles of Argo CD
// ApplicationSets, rendered in process and applied server-side.
package profile
