// Package platform is the platform model read from clusters/<env>/: layers in
// bring-up order, additive profiles, capability groups switched by the
// config's features, and the catalog's Argo CD Applications with their cost
// gates.
//
// It is pure data: no layer, profile, group, ApplicationSet or app name is
// known to the code; the names are read from the tree, the ApplicationSets'
// templates included. The package reads (and renders) the tree on disk and
// does no cluster or network I/O. It writes only when asked to: the files
// resolve generates (Write) and the descriptor init infers (Inference.Write).
package platform
