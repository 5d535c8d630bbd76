// Package profile applies, prunes and reads deployment profiles: the
// per-layer ApplicationSets of an environment, rendered from the tree
// (pkg/platform), applied server-side as members of one ApplySet, the layers
// a narrower profile no longer holds deleted in reverse bring-up order, and
// what is live read back against the model. Commands (pkg/cmd/profile) parse
// flags, call it and print what it reports.
package profile
