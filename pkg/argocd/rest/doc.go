// Package rest is Argo CD's HTTP/JSON API (the gateway in front of the gRPC
// services the argocd CLI calls), for what profile and smoke need in server
// mode: list and watch Applications, the server's version, who the token is.
// It does not import the argo-cd module, so those plugins stay small and start
// fast; costgate, which acts on gates, uses pkg/argocd/grpcclient.
package rest
