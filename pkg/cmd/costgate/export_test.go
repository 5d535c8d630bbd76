package costgate

import "github.com/aidev-platform/kubectl-plugins/pkg/watch"

// SetWatchListening tells the tests where a watch's endpoints listen.
func SetWatchListening(f func(watch.Listening)) func() {
	watchListening = f
	return func() { watchListening = nil }
}
