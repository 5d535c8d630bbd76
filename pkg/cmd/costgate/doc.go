// Package costgate is `kubectl costgate`: the manual-sync Argo CD applications that
// cost money, opened and closed on demand without Argo CD undoing it.
package costgate
