// Package render builds kustomizations in process with sigs.k8s.io/kustomize/api
// (no kustomize or kubectl binary), or reads a plain folder of manifests, and
// returns the objects.
package render
