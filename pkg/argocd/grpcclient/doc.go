// Package grpcclient is a client of Argo CD's own API (gRPC or gRPC-web,
// bearer token), for server mode: users behind SSO with Argo CD RBAC and no
// Kubernetes credentials. It syncs, and reaches the objects an Application
// deploys through that Application. Only kubectl-costgate imports it, so the
// other plugins do not carry the argo-cd module.
package grpcclient
