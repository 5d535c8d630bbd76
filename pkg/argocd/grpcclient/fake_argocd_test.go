package grpcclient

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	accountpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/account"
	applicationpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/application"
	sessionpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/session"
	versionpkg "github.com/argoproj/argo-cd/v3/pkg/apiclient/version"
	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An in-process Argo CD API server: the application, account and version
// services on a loopback port, with what the client sent recorded and each
// RPC's answer replaceable by a test.

// testToken is long enough for printers.Redact to hide it.
const testToken = "s3cret-argocd-token-0123456789"

// patience bounds a wait for something that should happen: only a failure
// bound, generous for a loaded machine.
const patience = 30 * time.Second

// fakeApps is Argo CD's application service. Hooks left nil answer from apps
// (Get, List, Patch, Sync) or with Unimplemented.
type fakeApps struct {
	applicationpkg.UnimplementedApplicationServiceServer

	mu          sync.Mutex
	apps        map[string]*v1alpha1.Application
	gets        []*applicationpkg.ApplicationQuery
	syncs       []*applicationpkg.ApplicationSyncRequest
	patches     []*applicationpkg.ApplicationPatchRequest
	resources   []*applicationpkg.ApplicationResourceRequest
	resPatches  []*applicationpkg.ApplicationResourcePatchRequest
	watches     int // Watch streams opened
	treeWatches int // WatchResourceTree streams opened

	syncErr       error // what Sync answers, when set
	get           func(context.Context, *applicationpkg.ApplicationQuery) (*v1alpha1.Application, error)
	watch         func(n int, q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error
	tree          func(*applicationpkg.ResourcesQuery) (*v1alpha1.ApplicationTree, error)
	watchTree     func(n int, stream applicationpkg.ApplicationService_WatchResourceTreeServer) error
	getResource   func(*applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error)
	patchResource func(*applicationpkg.ApplicationResourcePatchRequest) error
	// deletes and deleteResource: DeleteResource (delete_test.go)
	deletes        []*applicationpkg.ApplicationResourceDeleteRequest
	deleteResource func(*applicationpkg.ApplicationResourceDeleteRequest) error
}

func (f *fakeApps) Get(ctx context.Context, q *applicationpkg.ApplicationQuery) (*v1alpha1.Application, error) {
	f.mu.Lock()
	f.gets = append(f.gets, q)
	get := f.get
	f.mu.Unlock()
	if get != nil {
		return get(ctx, q)
	}
	return f.app(q.GetName())
}

// app is a copy of the named app, or Argo CD's NotFound for it.
func (f *fakeApps) app(name string) (*v1alpha1.Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.apps[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "applications.argoproj.io %q not found", name)
	}
	return a.DeepCopy(), nil
}

func (f *fakeApps) List(context.Context, *applicationpkg.ApplicationQuery) (*v1alpha1.ApplicationList, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := &v1alpha1.ApplicationList{}
	for _, a := range f.apps {
		list.Items = append(list.Items, *a.DeepCopy())
	}
	return list, nil
}

func (f *fakeApps) Patch(_ context.Context, r *applicationpkg.ApplicationPatchRequest) (*v1alpha1.Application, error) {
	f.mu.Lock()
	f.patches = append(f.patches, r)
	f.mu.Unlock()
	return f.app(r.GetName())
}

func (f *fakeApps) Sync(_ context.Context, r *applicationpkg.ApplicationSyncRequest) (*v1alpha1.Application, error) {
	f.mu.Lock()
	f.syncs = append(f.syncs, r)
	err := f.syncErr
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.app(r.GetName())
}

func (f *fakeApps) Watch(q *applicationpkg.ApplicationQuery, stream applicationpkg.ApplicationService_WatchServer) error {
	f.mu.Lock()
	f.watches++
	n, watch := f.watches, f.watch
	f.mu.Unlock()
	if watch == nil {
		return status.Error(codes.Unimplemented, "no watch")
	}
	return watch(n, q, stream)
}

func (f *fakeApps) ResourceTree(_ context.Context, q *applicationpkg.ResourcesQuery) (*v1alpha1.ApplicationTree, error) {
	f.mu.Lock()
	tree := f.tree
	f.mu.Unlock()
	if tree == nil {
		return nil, status.Error(codes.Unimplemented, "no tree")
	}
	return tree(q)
}

func (f *fakeApps) WatchResourceTree(_ *applicationpkg.ResourcesQuery, stream applicationpkg.ApplicationService_WatchResourceTreeServer) error {
	f.mu.Lock()
	f.treeWatches++
	n, watch := f.treeWatches, f.watchTree
	f.mu.Unlock()
	if watch == nil {
		return status.Error(codes.Unimplemented, "no tree watch")
	}
	return watch(n, stream)
}

func (f *fakeApps) GetResource(_ context.Context, r *applicationpkg.ApplicationResourceRequest) (*applicationpkg.ApplicationResourceResponse, error) {
	f.mu.Lock()
	f.resources = append(f.resources, r)
	get := f.getResource
	f.mu.Unlock()
	if get == nil {
		return nil, status.Error(codes.Unimplemented, "no resources")
	}
	return get(r)
}

func (f *fakeApps) PatchResource(_ context.Context, r *applicationpkg.ApplicationResourcePatchRequest) (*applicationpkg.ApplicationResourceResponse, error) {
	f.mu.Lock()
	f.resPatches = append(f.resPatches, r)
	patch := f.patchResource
	f.mu.Unlock()
	if patch == nil {
		return nil, status.Error(codes.Unimplemented, "no resource patches")
	}
	if err := patch(r); err != nil {
		return nil, err
	}
	m := "{}" // a required field: Argo CD answers with the patched object
	return &applicationpkg.ApplicationResourceResponse{Manifest: &m}, nil
}

// set changes the fake under its lock (hooks are read under it).
func (f *fakeApps) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

// recorded reads what the fake recorded under its lock.
func recorded[T any](f *fakeApps, read func() T) T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return read()
}

// fakeAccount is Argo CD's account service: can-i answers from allowed
// ("resource/action/object"), or hangs until the call ends.
type fakeAccount struct {
	accountpkg.UnimplementedAccountServiceServer

	mu      sync.Mutex
	allowed map[string]bool
	asked   []*accountpkg.CanIRequest
	hang    bool
}

func (f *fakeAccount) CanI(ctx context.Context, r *accountpkg.CanIRequest) (*accountpkg.CanIResponse, error) {
	f.mu.Lock()
	f.asked = append(f.asked, r)
	hang, yes := f.hang, f.allowed[r.Resource+"/"+r.Action+"/"+r.Subresource]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if yes {
		return &accountpkg.CanIResponse{Value: "yes"}, nil
	}
	return &accountpkg.CanIResponse{Value: "no"}, nil
}

// fakeSession is Argo CD's session service: userinfo names user, or says
// the token is not logged in when user is empty.
type fakeSession struct {
	sessionpkg.UnimplementedSessionServiceServer
	user string
}

func (f *fakeSession) GetUserInfo(context.Context, *sessionpkg.GetUserInfoRequest) (*sessionpkg.GetUserInfoResponse, error) {
	return &sessionpkg.GetUserInfoResponse{LoggedIn: f.user != "", Username: f.user}, nil
}

// fakeVersion answers the version check apiclient makes while it is created
// (without it apiclient falls back to gRPC-web).
type fakeVersion struct {
	versionpkg.UnimplementedVersionServiceServer
}

func (fakeVersion) Version(context.Context, *emptypb.Empty) (*versionpkg.VersionMessage, error) {
	return &versionpkg.VersionMessage{Version: "v3.6.1+fake"}, nil
}

// fakeServer serves the fakes on a loopback port, restartable on the same
// address; it records every token it was sent.
type fakeServer struct {
	addr string
	apps *fakeApps
	acc  *fakeAccount
	user string // who the session service says the token is

	mu     sync.Mutex
	srv    *grpc.Server
	tokens map[string]int
}

func startFake(t *testing.T, apps *fakeApps, acc *fakeAccount) *fakeServer {
	t.Helper()
	if apps == nil {
		apps = &fakeApps{}
	}
	if acc == nil {
		acc = &fakeAccount{}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{addr: lis.Addr().String(), apps: apps, acc: acc, user: "oncall", tokens: map[string]int{}}
	f.serve(t, lis)
	return f
}

func (f *fakeServer) serve(t *testing.T, lis net.Listener) {
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			f.sawToken(ctx)
			return handler(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			f.sawToken(ss.Context())
			return handler(srv, ss)
		}),
	)
	versionpkg.RegisterVersionServiceServer(srv, fakeVersion{})
	applicationpkg.RegisterApplicationServiceServer(srv, f.apps)
	accountpkg.RegisterAccountServiceServer(srv, f.acc)
	sessionpkg.RegisterSessionServiceServer(srv, &fakeSession{user: f.user})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
}

// restart stops the server, dropping every connection, and serves again on
// the same address: Argo CD's API server restarting.
func (f *fakeServer) restart(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	old := f.srv
	f.mu.Unlock()
	old.Stop()
	lis, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", f.addr, err)
	}
	f.serve(t, lis)
}

func (f *fakeServer) sawToken(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tok := range md.Get("token") {
		f.tokens[tok]++
	}
}

// onlyToken fails unless every call carried testToken.
func (f *fakeServer) onlyToken(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokens) != 1 || f.tokens[testToken] == 0 {
		t.Errorf("tokens the server saw: %v, want only the configured one", f.tokens)
	}
}

// connect returns a client of the fake server (plain text, the test token),
// with generous bounds unless set says otherwise.
func connect(t *testing.T, addr string, set ...func(*Options)) *Client {
	t.Helper()
	opts := Options{Server: addr, PlainText: true, AuthToken: testToken, ConnectTimeout: patience, RequestTimeout: patience}
	for _, s := range set {
		s(&opts)
	}
	c, err := New(opts, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testContext ends with the test, and at the latest after patience: no test
// hangs.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// newApp is an Application as Argo CD's API returns it.
func newApp(name string) *v1alpha1.Application {
	return &v1alpha1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd", ResourceVersion: "7"},
		Spec: v1alpha1.ApplicationSpec{
			Source:      &v1alpha1.ApplicationSource{RepoURL: "https://git.example/apps.git", Path: name},
			Destination: v1alpha1.ApplicationDestination{Server: "https://kubernetes.default.svc", Namespace: "apps"},
		},
	}
}

// within waits for ch for at most patience.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("%s: nothing within %s", what, patience)
	}
	panic(fmt.Sprintf("unreachable: %s", what))
}
