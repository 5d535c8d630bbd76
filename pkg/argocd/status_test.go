package argocd

import (
	"errors"
	"fmt"
	"testing"
)

// A refusal of Argo CD's RBAC is told apart however deep a client wrapped it.
func TestIsPermissionDenied(t *testing.T) {
	wrapped := fmt.Errorf("patching Deployment serving/raw-vllm: %w", fmt.Errorf("Argo CD denied the request: %w", ErrPermissionDenied))
	if !IsPermissionDenied(wrapped) || IsPermissionDenied(errors.New("permission denied by Argo CD RBAC")) || IsPermissionDenied(nil) {
		t.Error("IsPermissionDenied must follow the wrapping, and only it")
	}
}
