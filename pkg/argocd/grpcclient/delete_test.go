package grpcclient

import (
	"context"
	"errors"
	"testing"

	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/aidev-platform/kubectl-plugins/pkg/argocd"
)

func (f *fakeApps) DeleteResource(_ context.Context, r *applicationpkg.ApplicationResourceDeleteRequest) (*applicationpkg.ApplicationResponse, error) {
	f.mu.Lock()
	f.deletes = append(f.deletes, r)
	del := f.deleteResource
	f.mu.Unlock()
	if del == nil {
		return nil, status.Error(codes.Unimplemented, "no resource deletes")
	}
	if err := del(r); err != nil {
		return nil, err
	}
	return &applicationpkg.ApplicationResponse{}, nil
}

// DeleteResource names the object through its app, asks for neither orphan
// nor force (Argo CD then deletes it foreground), and sends the token.
func TestDeleteResourceDeletesForegroundThroughTheApp(t *testing.T) {
	apps := &fakeApps{deleteResource: func(*applicationpkg.ApplicationResourceDeleteRequest) error { return nil }}
	srv := startFake(t, apps, nil)
	c := connect(t, srv.addr)
	if err := c.DeleteResource(testContext(t), "inference-demo", deployments, "demo", "web"); err != nil {
		t.Fatal(err)
	}
	got := recorded(apps, func() []*applicationpkg.ApplicationResourceDeleteRequest { return apps.deletes })
	if len(got) != 1 {
		t.Fatalf("%d deletes", len(got))
	}
	r := got[0]
	if r.GetName() != "inference-demo" || r.GetGroup() != "apps" || r.GetVersion() != "v1" || r.GetKind() != "Deployment" ||
		r.GetNamespace() != "demo" || r.GetResourceName() != "web" || r.Orphan == nil || r.GetOrphan() || r.Force == nil || r.GetForce() {
		t.Errorf("request %+v", r)
	}
	srv.onlyToken(t)
}

// What Argo CD answers, as the gates act on it: an object its tree does not
// hold, or the API server no longer has, is NotFound (gone); a refusal of its
// RBAC is argocd.ErrPermissionDenied.
func TestDeleteResourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		check func(error) bool
	}{
		{"not in the tree", status.Error(codes.InvalidArgument, "Deployment apps web not found as part of application inference-demo"), apierrors.IsNotFound},
		{"gone from the API server", status.Error(codes.NotFound, `error deleting resource: deployments.apps "web" not found`), apierrors.IsNotFound},
		{"RBAC", status.Error(codes.PermissionDenied, "permission denied"), argocd.IsPermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apps := &fakeApps{deleteResource: func(*applicationpkg.ApplicationResourceDeleteRequest) error { return tc.err }}
			srv := startFake(t, apps, nil)
			err := connect(t, srv.addr).DeleteResource(testContext(t), "inference-demo", deployments, "demo", "web")
			if !tc.check(err) {
				t.Errorf("got %v", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Error("waited")
			}
		})
	}
}
