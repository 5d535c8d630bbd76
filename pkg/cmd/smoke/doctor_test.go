package smoke_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/cli/clitest"
	"github.com/aidev-platform/kubectl-plugins/pkg/cmd/smoke"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// doctor runs `kubectl smoke doctor` with args over h and compares the whole
// result with testdata/<golden>.golden.
func doctor(t *testing.T, h *clitest.Harness, golden string, args ...string) clitest.Result {
	t.Helper()
	r := h.Run(smoke.NewCmd, clitest.Args(t, "sandbox", append([]string{"doctor"}, args...)...)...)
	clitest.Golden(t, golden, r.String())
	return r
}

func wantExit(t *testing.T, r clitest.Result, code int) {
	t.Helper()
	if r.Code != code {
		t.Errorf("exit %d, want %d\n%s", r.Code, code, r)
	}
}

func TestDoctorClusterUnreachableStopsAtTheFirstCheck(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke")
	h.Fake.ReadyzErr = errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")
	wantExit(t, doctor(t, h, "doctor-unreachable", "--profile", "serving"), 1)
}

func TestDoctorWithoutAKubeconfigIsAnError(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke")
	h.ClientErr = errors.New("kubeconfig: no configuration has been provided")
	wantExit(t, doctor(t, h, "doctor-no-kubeconfig"), 1)
}

func TestDoctorServingProfileAllPass(t *testing.T) {
	for _, tc := range []struct{ golden, output string }{
		{"doctor-serving-pass", ""},
		{"doctor-serving-pass-json", "json"},
		{"doctor-serving-pass-yaml", "yaml"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
			allow(h, smoketest.AllowAll)
			args := []string{"--profile", "serving"}
			if tc.output != "" {
				args = append(args, "-o", tc.output)
			}
			wantExit(t, doctor(t, h, tc.golden, args...), 0)
		})
	}
}

func TestDoctorWithoutProfileSkipsTheProfileChecks(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
	allow(h, smoketest.AllowAll)
	wantExit(t, doctor(t, h, "doctor-no-profile"), 0)
}

func TestDoctorRejectsAnUnknownOutputFormat(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke")
	wantExit(t, doctor(t, h, "doctor-bad-output", "-o", "wide"), 1)
}

func TestDoctorRejectsAnUnknownProfile(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke")
	wantExit(t, doctor(t, h, "doctor-unknown-profile", "--profile", "nope"), 1)
}

// An empty cluster fails every check that needs something installed, skips what
// depends on Argo CD, and writes the same verdicts to --junit.
func TestDoctorEmptyClusterAndItsJUnitReport(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke")
	allow(h, smoketest.DenyAll)
	junit := filepath.Join(t.TempDir(), "doctor.xml")
	wantExit(t, doctor(t, h, "doctor-empty-cluster", "--profile", "serving", "--junit", junit), 1)
	xml, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "doctor-empty-cluster-junit.xml", string(xml))
}

// A --junit file that cannot be created fails the command before it prints.
func TestDoctorJUnitToAFolderThatDoesNotExist(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke")
	h.Fake.ReadyzErr = errors.New("no route to host")
	dir := t.TempDir()
	r := h.Run(smoke.NewCmd, clitest.Args(t, "sandbox", "doctor", "--junit", filepath.Join(dir, "missing", "doctor.xml"))...)
	clitest.Golden(t, "doctor-junit-unwritable", strings.ReplaceAll(r.String(), dir, "TMP"))
	wantExit(t, r, 1)
}

// A user who may not read CRDs (cluster-wide) is told so; the checks that read
// Argo CD's objects still run and carry the verdict.
func TestDoctorForbiddenCRDReadIsNotAMissingArgoCD(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
	allow(h, smoketest.AllowAll)
	h.Fake.Metadata.PrependReactor("get", "customresourcedefinitions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := a.(k8stesting.GetAction).GetName()
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, name,
			errors.New(`User "system:serviceaccount:ops:viewer" cannot get resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope`))
	})
	wantExit(t, doctor(t, h, "doctor-crds-forbidden", "--profile", "serving"), 0)
}

func TestDoctorCRDReadErrorSkipsTheArgoChecks(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
	allow(h, smoketest.AllowAll)
	h.Fake.Metadata.PrependReactor("get", "customresourcedefinitions", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	})
	wantExit(t, doctor(t, h, "doctor-crds-error", "--profile", "serving"), 1)
}

// The controller is proved by a Running pod, else by a recent reconciliation.
func TestDoctorControllers(t *testing.T) {
	env := sandbox(t)
	serving := smoketest.Profile(t, env, "serving")
	base := smoketest.Without(healthy(t, "serving"), func(o runtime.Object) bool {
		_, isPod := o.(*corev1.Pod)
		u, isApp := o.(*unstructured.Unstructured)
		return isPod || isApp && u.GetKind() == "Application"
	})
	stale := map[string]smoketest.AppState{}
	expected, err := env.ExpectedApps(serving)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range expected {
		stale[a.Name] = smoketest.AppState{Sync: "Synced", Health: "Healthy", Age: 30 * time.Minute}
		if a.Gated {
			stale[a.Name] = smoketest.AppState{Sync: "OutOfSync", Health: "Missing", Age: 30 * time.Minute}
		}
	}
	for _, tc := range []struct {
		golden string
		objs   []runtime.Object
		exit   int
	}{
		{"doctor-controller-reconciled", append(smoketest.Applications(env, serving, clitest.Clock, nil), smoketest.ControllerPod(corev1.PodPending)), 0},
		{"doctor-controller-stale", smoketest.Applications(env, serving, clitest.Clock, stale), 1},
		{"doctor-controller-nothing-to-show", nil, 1},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", append(append([]runtime.Object{}, base...), tc.objs...)...)
			allow(h, smoketest.AllowAll)
			wantExit(t, doctor(t, h, tc.golden, "--profile", "serving"), tc.exit)
		})
	}
}

// An auto-sync app that is not Synced/Healthy or absent fails profile-apps; the
// gated apps are listed with their state and never fail it.
func TestDoctorProfileNotConverged(t *testing.T) {
	env := sandbox(t)
	serving := smoketest.Profile(t, env, "serving")
	objs := smoketest.Without(healthy(t, "serving"), func(o runtime.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		return ok && (u.GetName() == "layer-serving" || u.GetKind() == "Application")
	})
	objs = append(objs, smoketest.Without(smoketest.Applications(env, serving, clitest.Clock, map[string]smoketest.AppState{
		"kserve":     {Sync: "Synced", Health: "Degraded", Age: time.Minute},
		"coder-chat": {Sync: "Synced", Health: "Healthy", Age: time.Minute},
	}), func(o runtime.Object) bool { return o.(*unstructured.Unstructured).GetName() == "group-embeddings" })...)
	h := clitest.New(t, "kubectl-smoke", objs...)
	allow(h, smoketest.AllowAll)
	wantExit(t, doctor(t, h, "doctor-profile-not-converged", "--profile", "serving"), 1)
}

// No GPU node warns (a pool scaled to zero); a profile that serves no model skips the check.
func TestDoctorGPUCapacity(t *testing.T) {
	noGPU := smoketest.Without(healthy(t, "serving"), func(o runtime.Object) bool { _, ok := o.(*corev1.Node); return ok })
	noGPU = append(noGPU, smoketest.CPUNode())
	for _, tc := range []struct{ golden, profile string }{
		{"doctor-gpu-none", "serving"},
		{"doctor-platform-profile", "platform"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", noGPU...)
			allow(h, smoketest.AllowAll)
			wantExit(t, doctor(t, h, tc.golden, "--profile", tc.profile), 0)
		})
	}
}

func TestDoctorClusterServices(t *testing.T) {
	noSC := func(o runtime.Object) bool { _, ok := o.(*storagev1.StorageClass); return ok }
	noLB := func(o runtime.Object) bool { _, ok := o.(*corev1.Service); return ok }
	noSecret := func(o runtime.Object) bool {
		m, ok := o.(*metav1.PartialObjectMetadata)
		return ok && m.Kind == "Secret"
	}
	for _, tc := range []struct {
		golden string
		drop   func(runtime.Object) bool
		add    []runtime.Object
		exit   int
	}{
		{"doctor-storageclass-none-default", noSC, []runtime.Object{smoketest.StorageClass("slow", false)}, 1},
		{"doctor-loadbalancer-none", noLB, []runtime.Object{&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "routing"}}}, 0},
		{"doctor-loadbalancer-pending", noLB, []runtime.Object{smoketest.LoadBalancer("routing", "edge", ""), smoketest.LoadBalancer("llm-gateway", "litellm", "203.0.113.11")}, 1},
		{"doctor-secret-missing", noSecret, nil, 1},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", append(smoketest.Without(healthy(t, "serving"), tc.drop), tc.add...)...)
			allow(h, smoketest.AllowAll)
			wantExit(t, doctor(t, h, tc.golden, "--profile", "serving"), tc.exit)
		})
	}
}

// The rbac check asks, per command and namespace, what the commands send.
func TestDoctorRBAC(t *testing.T) {
	for _, tc := range []struct {
		golden  string
		profile string
		allowed func(authv1.ResourceAttributes) bool
		exit    int
	}{
		// An operator's namespaced Roles: everything in the namespaces, nothing
		// cluster-wide; only costgate list (one LIST of every namespace) is short.
		{"doctor-rbac-namespaced-roles", "full", func(ra authv1.ResourceAttributes) bool { return ra.Namespace != "" }, 0},
		{"doctor-rbac-costgate-denied", "serving", func(ra authv1.ResourceAttributes) bool {
			return !(ra.Verb == "patch" && ra.Resource == "deployments" && ra.Namespace == "serving") && ra.Subresource != "portforward"
		}, 0},
		{"doctor-rbac-profile-denied", "serving", func(ra authv1.ResourceAttributes) bool {
			return ra.Resource != "appprojects" && !(ra.Verb == "patch" && ra.Resource == "applicationsets")
		}, 1},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			h := clitest.New(t, "kubectl-smoke", healthy(t, tc.profile)...)
			allow(h, tc.allowed)
			wantExit(t, doctor(t, h, tc.golden, "--profile", tc.profile), tc.exit)
		})
	}
}

// Every distinct request is asked once, in the namespaces the catalog names.
func TestDoctorRBACAsksPerNamespace(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "full")...)
	var asked []string
	allow(h, func(ra authv1.ResourceAttributes) bool {
		what := ra.Verb + " " + ra.Resource
		if ra.Subresource != "" {
			what += "/" + ra.Subresource
		}
		if ra.Group != "" {
			what += "." + ra.Group
		}
		if ra.Namespace != "" {
			what += " in " + ra.Namespace
		}
		asked = append(asked, what)
		return true
	})
	wantExit(t, doctor(t, h, "doctor-full-pass", "--profile", "full"), 0)
	got := ""
	for _, a := range asked {
		got += a + "\n"
	}
	clitest.Golden(t, "doctor-rbac-requests", got)
}

func TestDoctorRBACReviewError(t *testing.T) {
	h := clitest.New(t, "kubectl-smoke", healthy(t, "serving")...)
	h.Fake.Typed.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("the authorizer is down")
	})
	wantExit(t, doctor(t, h, "doctor-rbac-review-error", "--profile", "serving"), 1)
}

// One ExternalSecret that cannot read its remote key and a store without its
// credentials: the row says which, one line each, with both fixes.
func TestDoctorExternalSecretsNotReady(t *testing.T) {
	es := smoketest.ExternalSecret("serving", "vllm-api-key", "secret-store", []smoketest.RemoteRef{{SecretKey: "api-key", Key: "aidev-vllm-api-key"}},
		"False", "SecretSyncedError", "error processing spec.data[0] (key: aidev-vllm-api-key), err: Secret does not exist")
	store := smoketest.ClusterSecretStore("secret-store", "False", "InvalidProviderConfig", "unable to validate store")
	objs := smoketest.Without(healthy(t, "serving"), func(o runtime.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		return ok && (u.GetKind() == "ExternalSecret" || u.GetKind() == "ClusterSecretStore")
	})
	h := clitest.New(t, "kubectl-smoke", append(objs, es, store)...)
	allow(h, smoketest.AllowAll)
	wantExit(t, doctor(t, h, "doctor-external-secrets-not-ready", "--profile", "serving"), 1)
}

// An Argo CD older than the tree's minimum and no AppProject: what the first
// apply needs, each on its line.
func TestDoctorArgoBootstrapMissing(t *testing.T) {
	objs := smoketest.Without(healthy(t, "serving"), func(o runtime.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		_, dep := o.(*appsv1.Deployment)
		return dep || ok && u.GetKind() == "AppProject"
	})
	h := clitest.New(t, "kubectl-smoke", append(objs, smoketest.ArgoServer("v2.14.11"))...)
	allow(h, smoketest.AllowAll)
	wantExit(t, doctor(t, h, "doctor-argocd-bootstrap-missing", "--profile", "serving"), 1)
}
