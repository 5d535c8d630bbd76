package costgate

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// The refusals that come from the live Application are decided before any API
// call (the KEDA refusal, which lists ScaledObjects, is proved on the sandbox).
func TestCheckSafeRefusesAGateASyncWouldUndo(t *testing.T) {
	target := &platform.ObjectRef{Group: "apps", Kind: "Deployment", Namespace: "serving", Name: "raw-vllm"}
	app := platform.App{Name: "raw-vllm", File: "catalog/serving-core/raw-vllm.yaml", Gate: &platform.Gate{Kind: platform.GateScale, Target: target}}
	live := func(ignore []any, options ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
			"destination":       map[string]any{"namespace": "serving"},
			"ignoreDifferences": ignore,
			"syncPolicy":        map[string]any{"syncOptions": options},
		}}}
	}
	replicas := map[string]any{"group": "apps", "kind": "Deployment", "name": "raw-vllm", "jsonPointers": []any{"/spec/replicas"}}
	g := &Gates{} // no client: these refusals must not need one
	for _, tc := range []struct {
		name string
		app  *unstructured.Unstructured
		want string
	}{
		{"no ignoreDifferences", live(nil, "RespectIgnoreDifferences=true"), "has no ignoreDifferences on /spec/replicas of Deployment/serving/raw-vllm"},
		{"another Deployment's replicas", live([]any{map[string]any{"group": "apps", "kind": "Deployment", "name": "other", "jsonPointers": []any{"/spec/replicas"}}}, "RespectIgnoreDifferences=true"), "has no ignoreDifferences"},
		{"no RespectIgnoreDifferences", live([]any{replicas}, "ServerSideApply=true"), "lacks the sync option RespectIgnoreDifferences=true"},
	} {
		err := g.CheckSafe(context.Background(), app, tc.app)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "refusing to scale raw-vllm") {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := (&Gates{}).CheckSafe(context.Background(), platform.App{Gate: &platform.Gate{Kind: platform.GatePause}}, live(nil)); err != nil {
		t.Errorf("a pause gate has no replicas to protect: %v", err)
	}
}
