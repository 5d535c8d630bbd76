package kube_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/internal/testwait"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

func TestKindForKnownAndUnknown(t *testing.T) {
	k, err := kube.KindFor("argoproj.io/v1alpha1", "Application")
	if err != nil || k.GVR.Resource != "applications" || k.GroupKind() != "Application.argoproj.io" {
		t.Errorf("Application: %+v %v", k, err)
	}
	if k, _ := kube.KindFor("v1", "ConfigMap"); k.GroupKind() != "ConfigMap" {
		t.Errorf("ConfigMap group kind %q", k.GroupKind())
	}
	if _, err := kube.KindFor("v1", "Secret"); err == nil || err.Error() != "v1 Secret is not a kind this plugin manages" {
		t.Errorf("Secret: %v", err)
	}
	if _, err := kube.KindFor("a/b/c", "X"); err == nil {
		t.Error("bad apiVersion accepted")
	}
}

func TestExplainSaysWhatIsWrong(t *testing.T) {
	c := kubetest.NewClient().Client
	gr := schema.GroupResource{Group: "argoproj.io", Resource: "appprojects"}
	for name, tc := range map[string]struct {
		err  error
		kind kube.Kind
		want string
	}{
		"crd missing": {apierrors.NewNotFound(gr, ""), kube.AppProjects,
			`Argo CD is not installed on https://fake.cluster:6443 (context "fake"): the API has no appprojects (argoproj.io/v1alpha1)`},
		"other crd missing": {apierrors.NewNotFound(schema.GroupResource{Group: "serving.kserve.io", Resource: "inferenceservices"}, ""), kube.InferenceServices,
			`inferenceservices (serving.kserve.io/v1beta1) is not served by https://fake.cluster:6443: is its CRD installed?`},
		"unauthorized": {apierrors.NewUnauthorized("bad token"), kube.AppProjects,
			`https://fake.cluster:6443 (context "fake") refused the credentials: bad token`},
		"forbidden": {apierrors.NewForbidden(gr, "", errors.New("no")), kube.AppProjects,
			`not allowed on https://fake.cluster:6443 (context "fake"): appprojects.argoproj.io is forbidden: no`},
		// The command's deadline (--timeout 1ns) is no unreachable cluster, nor is an interrupt.
		"deadline": {fmt.Errorf("get: %w", context.DeadlineExceeded), kube.AppProjects,
			`no answer from the cluster at https://fake.cluster:6443 (context "fake") before the deadline (the command's --timeout, or --request-timeout)`},
		"interrupted": {fmt.Errorf("get: %w", context.Canceled), kube.AppProjects,
			`interrupted before the cluster at https://fake.cluster:6443 (context "fake") answered`},
		"request timeout": {&url.Error{Op: "Get", URL: "https://x", Err: timeoutErr{}}, kube.AppProjects,
			`cannot reach the cluster at https://fake.cluster:6443 (context "fake"): no answer within the request timeout`},
		"refused": {&url.Error{Op: "Get", URL: "https://x", Err: errors.New("connection refused")}, kube.AppProjects,
			`cannot reach the cluster at https://fake.cluster:6443 (context "fake"): connection refused`},
		"object missing": {apierrors.NewNotFound(gr, "platform"), kube.AppProjects, `appprojects.argoproj.io "platform" not found`},
	} {
		if got := c.Explain(tc.err, tc.kind); got == nil || got.Error() != tc.want {
			t.Errorf("%s: got %v, want %s", name, got, tc.want)
		}
	}
	if c.Explain(nil, kube.AppProjects) != nil {
		t.Error("Explain(nil) is not nil")
	}
}

func TestPreflight(t *testing.T) {
	f := kubetest.NewClient()
	if err := f.Preflight(context.Background(), "argocd"); err != nil {
		t.Fatalf("preflight on a fake with Argo CD's kinds: %v", err)
	}
	f.Dynamic.PrependReactor("list", "appprojects", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "argoproj.io", Resource: "appprojects"}, "")
	})
	if err := f.Preflight(context.Background(), "argocd"); err == nil || !strings.HasPrefix(err.Error(), "Argo CD is not installed") {
		t.Errorf("preflight without Argo CD: %v", err)
	}
}

func TestApplySetOwnsOnlyItsMembers(t *testing.T) {
	set := kube.ApplySet{Name: "kubectl-profile-dev", Namespace: "argocd", Tooling: "kubectl-profile/v1.0.0", Kinds: []kube.Kind{kube.ApplicationSets, kube.AppProjects}}
	if id := set.ID(); id != "applyset-"+strings.TrimSuffix(strings.TrimPrefix(id, "applyset-"), "-v1")+"-v1" || len(id) != len("applyset-")+43+3 {
		t.Errorf("ID %q is not base64url(sha256) in kubectl's form", id)
	}
	parent := set.Parent(map[string]string{"profile.aidev.io/profile": "full"})
	if got := parent.GetAnnotations()[kube.ApplySetGroupKinds]; got != "AppProject.argoproj.io,ApplicationSet.argoproj.io" {
		t.Errorf("group kinds %q", got)
	}
	mine := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": map[string]any{"name": "layer-a", "namespace": "argocd"}}}
	set.Label(mine)
	theirs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": map[string]any{"name": "other", "namespace": "argocd"}}}
	f := kubetest.NewClient(mine, theirs)
	ctx := context.Background()
	if p, err := set.GetParent(ctx, f.Client); p != nil || err != nil {
		t.Errorf("no parent yet: %v %v", p, err)
	}
	if _, err := f.Apply(ctx, parent, "kubectl-profile", false); err != nil {
		t.Fatal(err)
	}
	if p, err := set.GetParent(ctx, f.Client); p == nil || err != nil {
		t.Errorf("parent: %v %v", p, err)
	}
	members, err := set.Members(ctx, f.Client, kube.ApplicationSets)
	if err != nil || len(members) != 1 || members[0].GetName() != "layer-a" {
		t.Errorf("members: %v %v", members, err)
	}
	other := set
	other.Tooling = "helm/v3"
	if _, err := other.GetParent(ctx, f.Client); err == nil || err.Error() != `ApplySet argocd/kubectl-profile-dev belongs to "kubectl-profile/v1.0.0", not to helm` {
		t.Errorf("foreign tooling: %v", err)
	}
	stranger := kube.ApplySet{Name: "kubectl-profile-dev", Namespace: "argocd", Tooling: "kubectl-profile/v1"}
	cm := f.Get(kube.ConfigMaps, "argocd", "kubectl-profile-dev")
	cm.SetLabels(map[string]string{kube.ApplySetIDLabel: "applyset-other-v1"})
	if err := f.Dynamic.Tracker().Update(kube.ConfigMaps.GVR, cm, "argocd"); err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.GetParent(ctx, f.Client); err == nil || !strings.Contains(err.Error(), "exists but is not the ApplySet parent") {
		t.Errorf("parent of another set: %v", err)
	}
}

func TestApplyAndPatchNameTheObjectOnError(t *testing.T) {
	f := kubetest.NewClient()
	f.Dynamic.PrependReactor("patch", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "x", errors.New("denied"))
	})
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "argocd"}}}
	if _, err := f.Apply(context.Background(), obj, "m", true); err == nil || !strings.HasPrefix(err.Error(), "applying ConfigMap argocd/x: not allowed") {
		t.Errorf("apply: %v", err)
	}
	if _, err := f.Patch(context.Background(), kube.ConfigMaps, "argocd", "x", types.MergePatchType, []byte(`{}`), "m"); err == nil || !strings.HasPrefix(err.Error(), "not allowed") {
		t.Errorf("patch: %v", err)
	}
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "x"}}}
	if _, err := f.Apply(context.Background(), secret, "m", false); err == nil {
		t.Error("applied an unknown kind")
	}
}

// The watch sends the whole (selected) set on every change and ends at once,
// with the permission in the error, when the server refuses it.
func TestWatchSendsSnapshotsAndStopsOnForbidden(t *testing.T) {
	app := func(name string, labels map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": name, "namespace": "argocd", "labels": labels}}}
	}
	f := kubetest.NewClient(app("a", map[string]any{"tier": "x"}), app("b", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := f.Watch(ctx, kube.Applications, "argocd", kube.Selector{Labels: "tier=x"})
	first := testwait.Recv(t, w.C, "the first snapshot")
	if len(first) != 1 || first["a"] == nil {
		t.Fatalf("first snapshot %v", first)
	}
	if err := f.Dynamic.Tracker().Create(kube.Applications.GVR, app("c", map[string]any{"tier": "x"}), "argocd"); err != nil {
		t.Fatal(err)
	}
	if err := f.Dynamic.Tracker().Create(kube.Applications.GVR, app("d", nil), "argocd"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, w.C, "a snapshot with c", func(snap kube.Snapshot) bool {
		if snap["d"] != nil {
			t.Fatalf("unselected object in the snapshot: %v", snap)
		}
		return snap["c"] != nil
	})
	named := f.Watch(ctx, kube.Applications, "argocd", kube.Named("b"))
	if snap := testwait.Recv(t, named.C, "the named watch's snapshot"); len(snap) != 1 || snap["b"] == nil {
		t.Errorf("named watch: %v", snap)
	}

	g := kubetest.NewClient()
	g.Dynamic.PrependReactor("list", "applications", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applications"}, "", errors.New("User \"v\" cannot list"))
	})
	fw := g.Watch(ctx, kube.Applications, "argocd", kube.Selector{})
	if snaps := testwait.Closed(t, fw.C, "the end of the refused watch"); len(snaps) > 0 {
		t.Errorf("%d snapshots from a refused watch", len(snaps))
	}
	if err := fw.Err(); err == nil || err.Error() != `not allowed on https://fake.cluster:6443 (context "fake"): applications.argoproj.io is forbidden: User "v" cannot list` {
		t.Errorf("refused watch: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("the refused watch ran until the deadline")
	}
}

func TestNewClientFromKubeconfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: ctx
  context: {cluster: c, user: u}
users:
- name: u
  user: {token: abc}
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	c, err := kube.NewClient(flags, "kubectl-test/v1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "https://127.0.0.1:6443" || c.Context != "ctx" || c.Config.UserAgent != "kubectl-test/v1" || c.Dynamic == nil || c.Typed != nil {
		t.Errorf("client %+v", c)
	}
	if err := kube.AddTypedClients(c); err != nil || c.Typed == nil || c.Metadata == nil {
		t.Errorf("typed clients: %v", err)
	}
	missing := filepath.Join(dir, "none")
	flags.KubeConfig = &missing
	if _, err := kube.NewClient(flags, ""); err == nil || !strings.HasPrefix(err.Error(), "kubeconfig:") {
		t.Errorf("missing kubeconfig: %v", err)
	}
}

// ForwardService names the hop that fails: the Service, its port, its pods.
func TestForwardServiceNamesTheHop(t *testing.T) {
	svc := func(name string, selector map[string]string, target intstr.IntOrString) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "serving"},
			Spec: corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Port: 8000, TargetPort: target}}}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "raw-vllm-1", Namespace: "serving", Labels: map[string]string{"app": "raw-vllm"}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}}
	f := kubetest.NewClient(svc("raw-vllm", map[string]string{"app": "raw-vllm"}, intstr.FromString("http")), svc("headless", nil, intstr.FromInt32(8000)), pod)
	ctx := context.Background()
	for _, tc := range []struct {
		service string
		port    int32
		want    string
	}{
		{"nope", 8000, "service serving/nope does not exist (is the app synced?)"},
		{"raw-vllm", 9000, "service serving/raw-vllm has no port 9000"},
		{"headless", 8000, "service serving/headless selects no pods (no selector)"},
		{"raw-vllm", 8000, "pod not Ready: service serving/raw-vllm has 1 pod(s), none Ready (is its cost gate up?)"},
	} {
		if _, err := f.ForwardService(ctx, "serving", tc.service, tc.port); err == nil || err.Error() != tc.want {
			t.Errorf("%s:%d: %v, want %s", tc.service, tc.port, err, tc.want)
		}
	}
	(&kube.Forward{}).Close() // a Forward without a stream closes quietly
}

// timeoutErr is a net.Error that timed out, as the client's transport returns.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
