package watch

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// Event reasons on a gate's Application.
const (
	ReasonClosed      = "CostGateClosed"
	ReasonCloseFailed = "CostGateCloseFailed"
)

// Component is the watcher's name in Events, logs and its leader lease.
const Component = "costgate-watcher"

// Events writes Kubernetes Events on the gates' Applications, where
// `kubectl describe application` and Argo CD's UI show them. One Event per
// close, written at once: a close is rare, and a test or a person reading it
// right after finds it (client-go's broadcaster writes later, in batches).
type Events struct {
	Client    kubernetes.Interface
	Namespace string // the Applications'
	Instance  string // this replica (its pod's name)
	Clock     clock.PassiveClock
}

// Record writes one Event about app (type Normal or Warning).
func (e *Events) Record(ctx context.Context, app *unstructured.Unstructured, eventType, reason, message string) error {
	now := e.Clock.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", app.GetName(), now.UnixNano()), Namespace: e.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: app.GetAPIVersion(), Kind: app.GetKind(), Namespace: app.GetNamespace(), Name: app.GetName(),
			UID: app.GetUID(), ResourceVersion: app.GetResourceVersion(),
		},
		Reason: reason, Message: message, Type: eventType, Action: "Close",
		Source:         corev1.EventSource{Component: Component},
		FirstTimestamp: metav1.NewTime(now), LastTimestamp: metav1.NewTime(now), EventTime: metav1.NewMicroTime(now), Count: 1,
		ReportingController: "aidev.io/" + Component, ReportingInstance: e.Instance,
	}
	_, err := e.Client.CoreV1().Events(e.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}
