package profile

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
)

// Each stage an apply can fail at says, interrupted or not, how far it got
// and that the same apply finishes it.
func TestApplyFailedSaysHowFarItGot(t *testing.T) {
	interrupted, cancel := context.WithCancelCause(context.Background())
	cancel(cli.ErrInterrupted)
	boom := errors.New("boom")
	for _, tc := range []struct {
		ctx  context.Context
		err  *profile.ApplyError
		want string
	}{
		{interrupted, &profile.ApplyError{Stage: profile.ApplyChecking, Err: boom}, "interrupted during the server-side dry run, before anything was written"},
		{interrupted, &profile.ApplyError{Stage: profile.ApplyWaiting, Object: "applicationset.argoproj.io/layer-serving", Err: boom}, "interrupted while waiting for applicationset.argoproj.io/layer-serving to be deleted, before anything was written"},
		{interrupted, &profile.ApplyError{Stage: profile.ApplyWriting, Object: "x", Done: 2, Total: 5, Profile: "full", Err: boom}, "interrupted while applying x: 2 of 5 objects of profile full were applied before it"},
		{context.Background(), &profile.ApplyError{Stage: profile.ApplyWriting, Done: 2, Total: 5, Err: boom}, "boom (applied 2 of 5 objects; the ApplySet still records the previous profile"},
		{interrupted, &profile.ApplyError{Stage: profile.ApplyRecording, Profile: "full", Err: boom}, "interrupted after applying every object of profile full, before recording it"},
		{interrupted, &profile.ApplyError{Stage: profile.ApplyPruning, Object: "y", Done: 1, Total: 3, Err: boom}, "interrupted while pruning y (1 of 3 layers pruned)"},
		{context.Background(), &profile.ApplyError{Stage: profile.ApplyPruning, Err: boom}, "boom"},
	} {
		if got := applyFailed(tc.ctx, tc.err); got == nil || !strings.HasPrefix(got.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s…", tc.err.Stage, got, tc.want)
		}
	}
	if applyFailed(context.Background(), nil) != nil || applyFailed(context.Background(), boom) != boom {
		t.Error("an error that is no ApplyError passes as it is")
	}
}
