// Package argocd reads Argo CD's state the way the argocd CLI shows it: sync and
// health of Applications, the last operation, and the reconciliation time.
package argocd

import (
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
	Name           string    `json:"name"`
	Sync           string    `json:"sync"`
	Health         string    `json:"health"`
	OperationPhase string    `json:"operationPhase,omitempty"`
	Message        string    `json:"message,omitempty"`
	ReconciledAt   time.Time `json:"reconciledAt,omitempty"`
	Revision       string    `json:"revision,omitempty"`
}

// StatusOf reads an Application's status.
func StatusOf(app *unstructured.Unstructured) AppStatus {
	s := AppStatus{Name: app.GetName()}
	s.Sync, _, _ = unstructured.NestedString(app.Object, "status", "sync", "status")
	s.Health, _, _ = unstructured.NestedString(app.Object, "status", "health", "status")
	s.Revision, _, _ = unstructured.NestedString(app.Object, "status", "sync", "revision")
	s.OperationPhase, _, _ = unstructured.NestedString(app.Object, "status", "operationState", "phase")
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

// Ready is what "Synced and Healthy" means for a wait.
func (s AppStatus) Ready() bool { return s.Sync == Synced && s.Health == Healthy }
