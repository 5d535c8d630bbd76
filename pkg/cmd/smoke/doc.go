// Package smoke is `kubectl smoke`: checks of the cluster and the profile, and an
// authenticated chat probe of the serving path, with an exit code CI can trust.
package smoke
