package costgate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// conflictBackoff paces the retries of a write that lost a race: it starts
// short (a concurrent up and down usually settle at once) and grows to a cap.
var conflictBackoff = struct{ initial, max time.Duration }{10 * time.Millisecond, time.Second}

// maxConflictWait bounds the retries when the caller's context has no deadline
// (idle has no --timeout).
const maxConflictWait = 2 * time.Minute

// retryOnConflict runs write (a fresh read, then a write guarded by that
// read's resourceVersion) again each time it fails with 409 Conflict, with a
// jittered exponential backoff, until ctx's deadline: the command's --timeout.
// A fixed count of retries (client-go's DefaultRetry: 5) is not enough when
// many users up and down the same gate; and the API server's "the object has
// been modified" is the mechanism, not something to show a person.
func retryOnConflict(ctx context.Context, what string, write func() error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxConflictWait)
		defer cancel()
	}
	delay := conflictBackoff.initial
	for attempt := 1; ; attempt++ {
		err := write()
		if !apierrors.IsConflict(err) {
			return err
		}
		// Full jitter between half the delay and the delay: concurrent writers
		// that collided once do not collide again in lockstep.
		sleep := delay/2 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s kept changing under this write (%d attempts, another writer?): %w", what, attempt, ctx.Err())
		case <-time.After(sleep):
		}
		delay = min(2*delay, conflictBackoff.max)
	}
}
