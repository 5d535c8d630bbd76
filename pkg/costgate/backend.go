package costgate

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Backend is how the gates reach the cluster, chosen once per invocation:
// the Kubernetes API (core mode, KubeBackend) or Argo CD's API (server mode,
// ArgoCDBackend). Both report a missing object and a resourceVersion conflict
// as the Kubernetes API's errors (apierrors), so the gates have one logic;
// every other error comes back explained for a person.
type Backend interface {
	// Mode names the backend in messages: "core" or "server".
	Mode() string
	// Live reads the Applications and the workloads that exist.
	Live(ctx context.Context, workloads []Workload) (Live, error)
	// Application reads one Application (NotFound when it does not exist).
	Application(ctx context.Context, name string) (*unstructured.Unstructured, error)
	// AnnotateApplication merges annotations into an Application (nil removes
	// one). A resourceVersion is a precondition where the mode allows one
	// (core; Argo CD's Patch re-reads and retries conflicts itself).
	AnnotateApplication(ctx context.Context, name string, annotations map[string]any, resourceVersion string) error
	// Workload reads the live workload (NotFound when it does not exist).
	Workload(ctx context.Context, w Workload) (*unstructured.Unstructured, error)
	// PatchWorkload merge-patches the workload; a resourceVersion in the
	// patch is a precondition, its failure a Conflict.
	PatchWorkload(ctx context.Context, w Workload, mergePatch []byte) error
	// Scale reads the replicas of a scale gate's workload, the selector of
	// its pods and its resourceVersion (NotFound when it does not exist): the
	// /scale subresource in core mode, spec.replicas through the app in server mode.
	Scale(ctx context.Context, w Workload) (kube.Scale, error)
	// PatchScale sets the workload's replicas, guarded by resourceVersion (a
	// Conflict when it changed since it was read).
	PatchScale(ctx context.Context, w Workload, replicas int64, resourceVersion string) error
	// WhoAmI is the user the backend acts as: the Kubernetes user (a
	// SelfSubjectReview) or the Argo CD user (its session's userinfo).
	WhoAmI(ctx context.Context) (string, error)
	// Beside lists the objects of kind k in the workload's namespace (through
	// its app in server mode); none when the kind is not served.
	Beside(ctx context.Context, w Workload, k kube.Kind) ([]*unstructured.Unstructured, error)
	// WatchWorkload calls changed with the workload (nil when absent) and its
	// pods each time either changes, until changed says done, fails, or ctx ends.
	WatchWorkload(ctx context.Context, w Workload, changed func(live *unstructured.Unstructured, pods kube.Snapshot) (bool, error)) error
	// Sync syncs an Application and waits for the operation to finish.
	Sync(ctx context.Context, app string, progress func(argocd.AppStatus)) (*argocd.SyncResult, error)
	// Authorize checks, before any write, that every request in perms is
	// allowed, and names every one that is not.
	Authorize(ctx context.Context, perms []Permission) error

	// Closing a sync gate (undeploy.go): what its Application deployed.

	// ResolveKinds names the resource of each kind, and its scope (core mode:
	// the API server's discovery; server mode: Argo CD resolves kinds itself,
	// so the name is kubectl's guess, for messages); a kind the cluster does
	// not serve is left out.
	ResolveKinds(ctx context.Context, gvks []schema.GroupVersionKind) (map[schema.GroupVersionKind]kube.Kind, error)
	// AppObject reads one object an Application deployed (NotFound when it
	// does not exist; in server mode, when Argo CD's resource tree of the app
	// does not hold it).
	AppObject(ctx context.Context, o AppObject) (*unstructured.Unstructured, error)
	// DeleteAppObject deletes one object an Application deployed, with
	// foreground propagation. uid is a precondition where the mode allows it
	// (core mode: a Conflict when the object was replaced; Argo CD's
	// DeleteResource takes none, it deletes what its tree holds by name).
	DeleteAppObject(ctx context.Context, o AppObject, uid types.UID) error
	// WatchAppObjects calls changed with the Application of objs (one app's),
	// those of objs that exist, and the pods in their namespaces (server mode:
	// in the app's resource tree) each time any of them changes, until changed
	// says done, fails, or ctx ends.
	WatchAppObjects(ctx context.Context, objs []AppObject, changed func(Undeploying) (bool, error)) error
}

// cut says what a request the command's own deadline or an interrupt cut
// short met, rather than "cannot reach the cluster"; nil when ctx is live.
func cut(ctx context.Context, err error) error {
	switch {
	case ctx.Err() == nil:
		return nil
	case errors.Is(err, ctx.Err()): // says already what it waited on
		return err
	}
	return ctx.Err()
}

// cutOr is err, or what cut it short; a conflict stays one, for the retry.
func cutOr(ctx context.Context, err error) error {
	if c := cut(ctx, err); c != nil && !apierrors.IsConflict(err) {
		return c
	}
	return err
}
