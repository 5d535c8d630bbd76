// Package argocd reads Argo CD's state the way the argocd CLI shows it: sync and
// health of Applications, the last operation, and the reconciliation time.
package argocd
