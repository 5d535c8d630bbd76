package argocd

import (
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Health and sync values Argo CD reports.
const (
	Synced    = "Synced"
	OutOfSync = "OutOfSync"
	Healthy   = "Healthy"
	Degraded  = "Degraded"
	Missing   = "Missing"
)

// AppStatus is the part of an Application's status a person waits on.
type AppStatus struct {
	Name           string `json:"name"`
	Sync           string `json:"sync"`
	Health         string `json:"health"`
	OperationPhase string `json:"operationPhase,omitempty"`
	// OperationPending: .operation is set, a sync is requested or running.
	OperationPending bool      `json:"operationPending,omitempty"`
	Message          string    `json:"message,omitempty"`
	ReconciledAt     time.Time `json:"reconciledAt,omitempty"`
	Revision         string    `json:"revision,omitempty"`
}

// StatusOf reads an Application's status.
func StatusOf(app *unstructured.Unstructured) AppStatus {
	s := AppStatus{Name: app.GetName()}
	s.Sync, _, _ = unstructured.NestedString(app.Object, "status", "sync", "status")
	s.Health, _, _ = unstructured.NestedString(app.Object, "status", "health", "status")
	s.Revision, _, _ = unstructured.NestedString(app.Object, "status", "sync", "revision")
	s.OperationPhase, _, _ = unstructured.NestedString(app.Object, "status", "operationState", "phase")
	_, s.OperationPending, _ = unstructured.NestedFieldNoCopy(app.Object, "operation")
	if at, _, _ := unstructured.NestedString(app.Object, "status", "reconciledAt"); at != "" {
		s.ReconciledAt, _ = time.Parse(time.RFC3339, at)
	}
	s.Message = message(app)
	return s
}

// message picks what best explains an app that is not ready: an error condition,
// then a failed or running operation, then the health message.
func message(app *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(app.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if msg, _ := m["message"].(string); msg != "" {
			t, _ := m["type"].(string)
			return t + ": " + msg
		}
	}
	if phase, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "phase"); phase != "" && phase != "Succeeded" {
		msg, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "message")
		return "operation " + phase + ": " + msg
	}
	msg, _, _ := unstructured.NestedString(app.Object, "status", "health", "message")
	return msg
}

// Ready is what "Synced and Healthy" means for a wait: and no operation requested
// or running (a sync in progress can still change both), and the last one did not
// fail.
func (s AppStatus) Ready() bool {
	return s.Sync == Synced && s.Health == Healthy && !s.OperationInProgress() && !s.OperationFailed()
}

// OperationInProgress says a sync is requested or running.
func (s AppStatus) OperationInProgress() bool {
	return s.OperationPending || s.OperationPhase == "Running" || s.OperationPhase == "Terminating"
}

// OperationFailed says the last operation ended in Failed or Error.
func (s AppStatus) OperationFailed() bool {
	return s.OperationPhase == "Failed" || s.OperationPhase == "Error"
}

// ErrPermissionDenied is what a client of Argo CD's API returns, wrapped,
// when Argo CD's RBAC refuses a request.
var ErrPermissionDenied = errors.New("permission denied by Argo CD RBAC")

// IsPermissionDenied says whether err is Argo CD's RBAC refusing a request.
func IsPermissionDenied(err error) bool { return errors.Is(err, ErrPermissionDenied) }
