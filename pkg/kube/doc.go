// Package kube is the plugins' Kubernetes access: clients from kubectl's standard
// flags, server-side apply, ApplySet-style ownership and pruning, and list+watch.
// It knows the few kinds the plugins touch, so it makes no discovery round trips.
package kube
