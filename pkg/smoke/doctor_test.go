package smoke

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/pkg/costgate"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform/platformtest"
	"github.com/aidev-platform/kubectl-plugins/pkg/profile"
	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// clusters is the repository's clusters/ folder, from this package.
const clusters = "../../clusters"

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// newDoctor is a doctor of the sandbox over a fake cluster holding objs, with
// a fixed clock; profile "" checks no profile.
func newDoctor(t *testing.T, profileName string, objs ...runtime.Object) (*Doctor, *kubetest.Fake) {
	t.Helper()
	env := smoketest.Sandbox(t, clusters)
	fake := kubetest.NewClient(objs...)
	d := &Doctor{Client: fake.Client, Env: env, ReconcileWindow: 10 * time.Minute, Now: func() time.Time { return now }}
	scope := platform.Profile{Layers: env.LayerNames()}
	if profileName != "" {
		p := smoketest.Profile(t, env, profileName)
		d.Profile, scope = &p, p
	}
	// What the other plugins declare, as pkg/cmd/smoke passes it.
	d.Needs = append(profile.Needs(env.Config.Namespace), costgate.Needs(env.Config.Namespace, costgate.Configured(env), costgate.GatedIn(env, scope))...)
	return d, fake
}

// verdicts is every check's name and status, one line: the whole verdict of a run.
func verdicts(checks []Check) string {
	var parts []string
	for _, c := range checks {
		parts = append(parts, c.Name+"="+c.Status)
	}
	return strings.Join(parts, " ")
}

func healthy(t *testing.T, profile string) []runtime.Object {
	return smoketest.Healthy(t, smoketest.Sandbox(t, clusters), profile, now)
}

func TestDoctorVerdicts(t *testing.T) {
	isKind := func(kind string) func(runtime.Object) bool {
		return func(o runtime.Object) bool { u, ok := o.(*unstructured.Unstructured); return ok && u.GetKind() == kind }
	}
	isPod := func(o runtime.Object) bool { _, ok := o.(*corev1.Pod); return ok }
	for _, tc := range []struct {
		name    string
		profile string
		objs    []runtime.Object
		setup   func(*kubetest.Fake)
		want    string
	}{
		{"healthy serving", "serving", healthy(t, "serving"), nil,
			"cluster=PASS argocd-crds=PASS argocd-namespace=PASS argocd-controllers=PASS argocd-bootstrap=PASS groups-fresh=PASS profile-objects=PASS profile-apps=PASS external-secrets=PASS gpu-capacity=PASS default-storageclass=PASS loadbalancers=PASS serving-secrets=PASS rbac=PASS"},
		{"no profile", "", healthy(t, "serving"), nil,
			"cluster=PASS argocd-crds=PASS argocd-namespace=PASS argocd-controllers=PASS argocd-bootstrap=PASS groups-fresh=PASS profile-objects=SKIP profile-apps=SKIP external-secrets=PASS gpu-capacity=SKIP default-storageclass=PASS loadbalancers=PASS serving-secrets=PASS rbac=PASS"},
		{"unreachable", "serving", nil, func(f *kubetest.Fake) { f.ReadyzErr = errors.New("connection refused") },
			"cluster=FAIL"},
		{"empty cluster", "serving", nil, func(f *kubetest.Fake) { smoketest.Allow(f, smoketest.DenyAll) },
			"cluster=PASS argocd-crds=FAIL argocd-namespace=FAIL argocd-controllers=SKIP argocd-bootstrap=SKIP groups-fresh=PASS profile-objects=SKIP profile-apps=SKIP external-secrets=SKIP gpu-capacity=WARN default-storageclass=FAIL loadbalancers=SKIP serving-secrets=FAIL rbac=FAIL"},
		{"empty cluster, no profile", "", nil, func(f *kubetest.Fake) { smoketest.Allow(f, smoketest.DenyAll) },
			"cluster=PASS argocd-crds=FAIL argocd-namespace=FAIL argocd-controllers=SKIP argocd-bootstrap=SKIP groups-fresh=PASS profile-objects=SKIP profile-apps=SKIP external-secrets=SKIP gpu-capacity=SKIP default-storageclass=FAIL loadbalancers=SKIP serving-secrets=FAIL rbac=FAIL"},
		{"CRDs forbidden", "serving", healthy(t, "serving"), func(f *kubetest.Fake) {
			f.Metadata.PrependReactor("get", "customresourcedefinitions", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, a.(k8stesting.GetAction).GetName(), errors.New("RBAC"))
			})
		}, "cluster=PASS argocd-crds=WARN argocd-namespace=PASS argocd-controllers=PASS argocd-bootstrap=PASS groups-fresh=PASS profile-objects=PASS profile-apps=PASS external-secrets=PASS gpu-capacity=PASS default-storageclass=PASS loadbalancers=PASS serving-secrets=PASS rbac=PASS"},
		{"no controller pod, no apps", "serving", smoketest.Without(healthy(t, "serving"), func(o runtime.Object) bool { return isPod(o) || isKind("Application")(o) }), nil,
			"cluster=PASS argocd-crds=PASS argocd-namespace=PASS argocd-controllers=WARN argocd-bootstrap=PASS groups-fresh=PASS profile-objects=PASS profile-apps=FAIL external-secrets=SKIP gpu-capacity=PASS default-storageclass=PASS loadbalancers=PASS serving-secrets=PASS rbac=PASS"},
		{"Applications forbidden", "serving", smoketest.Without(healthy(t, "serving"), isPod), func(f *kubetest.Fake) {
			f.Dynamic.PrependReactor("list", "applications", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applications"}, "", errors.New("RBAC"))
			})
		}, "cluster=PASS argocd-crds=PASS argocd-namespace=PASS argocd-controllers=FAIL argocd-bootstrap=PASS groups-fresh=PASS profile-objects=PASS profile-apps=FAIL external-secrets=FAIL gpu-capacity=PASS default-storageclass=PASS loadbalancers=PASS serving-secrets=PASS rbac=PASS"},
		{"ApplicationSets forbidden", "serving", healthy(t, "serving"), func(f *kubetest.Fake) {
			f.Dynamic.PrependReactor("list", "applicationsets", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applicationsets"}, "", errors.New("RBAC"))
			})
		}, "cluster=PASS argocd-crds=PASS argocd-namespace=PASS argocd-controllers=PASS argocd-bootstrap=WARN groups-fresh=PASS profile-objects=FAIL profile-apps=PASS external-secrets=PASS gpu-capacity=PASS default-storageclass=PASS loadbalancers=PASS serving-secrets=PASS rbac=PASS"},
		{"Secrets forbidden (a viewer)", "serving", healthy(t, "serving"), func(f *kubetest.Fake) {
			f.Metadata.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, a.(k8stesting.GetAction).GetName(), errors.New("RBAC"))
			})
		}, "cluster=PASS argocd-crds=PASS argocd-namespace=PASS argocd-controllers=PASS argocd-bootstrap=PASS groups-fresh=PASS profile-objects=PASS profile-apps=PASS external-secrets=PASS gpu-capacity=PASS default-storageclass=PASS loadbalancers=PASS serving-secrets=WARN rbac=PASS"},
		{"core reads fail", "serving", healthy(t, "serving"), func(f *kubetest.Fake) {
			for _, res := range []string{"namespaces", "nodes", "storageclasses", "services"} {
				f.Typed.PrependReactor("*", res, func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewInternalError(errors.New("etcd timeout"))
				})
			}
			f.Metadata.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewInternalError(errors.New("etcd timeout"))
			})
		}, "cluster=PASS argocd-crds=PASS argocd-namespace=FAIL argocd-controllers=PASS argocd-bootstrap=PASS groups-fresh=PASS profile-objects=PASS profile-apps=PASS external-secrets=PASS gpu-capacity=FAIL default-storageclass=FAIL loadbalancers=FAIL serving-secrets=FAIL rbac=PASS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, fake := newDoctor(t, tc.profile, tc.objs...)
			smoketest.Allow(fake, smoketest.AllowAll)
			if tc.setup != nil {
				tc.setup(fake)
			}
			if got := verdicts(d.Run(context.Background())); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// A doctor runs again from scratch: the skip reason of one run does not leak
// into the next.
func TestDoctorRunsTwiceTheSame(t *testing.T) {
	d, fake := newDoctor(t, "serving", healthy(t, "serving")...)
	smoketest.Allow(fake, smoketest.AllowAll)
	first := verdicts(d.Run(context.Background()))
	if second := verdicts(d.Run(context.Background())); second != first {
		t.Errorf("second run %s, first %s", second, first)
	}
}

// A check's duration is measured with the doctor's clock.
func TestDoctorTimesEachCheck(t *testing.T) {
	d, fake := newDoctor(t, "", healthy(t, "serving")...)
	smoketest.Allow(fake, smoketest.AllowAll)
	tick := now
	d.Now = func() time.Time { tick = tick.Add(time.Millisecond); return tick }
	for _, c := range d.Run(context.Background()) {
		if c.Status != Skip && c.Duration != time.Millisecond {
			t.Errorf("%s took %s, want 1ms", c.Name, c.Duration)
		}
	}
}

func TestServingProfile(t *testing.T) {
	env := smoketest.Sandbox(t, clusters)
	for name, want := range map[string]bool{"platform": false, "serving": true, "full": true} {
		if got := ServingProfile(env, smoketest.Profile(t, env, name)); got != want {
			t.Errorf("ServingProfile(%s) = %v, want %v", name, got, want)
		}
	}
}

// The rbac check's severity: a denied profile verb fails, a denied optional
// command warns, and a missing permission is named with its command.
func TestRBACSeverity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed func(authv1.ResourceAttributes) bool
		status  string
		message string
	}{
		{"all allowed", smoketest.AllowAll, Pass, "allowed all 52 requests of 8 commands"},
		{"preflight denied", func(ra authv1.ResourceAttributes) bool { return ra.Resource != "appprojects" || ra.Verb != "list" }, Fail,
			"not allowed: every command's preflight: list appprojects.argoproj.io in argocd; profile apply: list appprojects.argoproj.io in argocd"},
		{"wait denied", func(ra authv1.ResourceAttributes) bool { return ra.Verb != "watch" || ra.Resource != "applications" }, Fail,
			"not allowed: profile status/wait: watch applications.argoproj.io in argocd; costgate sync: watch applications.argoproj.io in argocd"},
		{"prune denied", func(ra authv1.ResourceAttributes) bool { return ra.Verb != "delete" }, Warn,
			"the profile verbs are allowed; optional commands are not: profile apply --prune: delete applicationsets.argoproj.io in argocd"},
		{"scale denied in one namespace", func(ra authv1.ResourceAttributes) bool {
			return ra.Namespace != "coding-assistant" || ra.Group != "apps"
		}, Warn, "the profile verbs are allowed; optional commands are not: costgate up/down: get/patch deployments/scale.apps in coding-assistant, get/list/watch deployments.apps in coding-assistant"},
		{"chat denied", func(ra authv1.ResourceAttributes) bool { return ra.Resource != "secrets" && ra.Resource != "services" }, Warn,
			"the profile verbs are allowed; optional commands are not: smoke chat: get services in serving, get secrets in serving"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, fake := newDoctor(t, "serving")
			smoketest.Allow(fake, tc.allowed)
			c := d.rbac(context.Background())
			if c.Status != tc.status || c.Message != tc.message {
				t.Errorf("got %s %q\nwant %s %q", c.Status, c.Message, tc.status, tc.message)
			}
		})
	}
}

// The requests are those of the apps the profile brings up: serving has scale
// gates (serving, coding-assistant) and raw-vllm's chat; full adds the pause
// gate's namespace (kserve); platform has neither.
func TestRBACAsksForTheProfilesNamespaces(t *testing.T) {
	for profile, want := range map[string]string{
		"platform": "every command's preflight; profile status/wait; profile apply; profile apply --prune; costgate list; costgate sync",
		"serving": "every command's preflight; profile status/wait; profile apply; profile apply --prune; costgate list; costgate sync; " +
			"costgate up/down: coding-assistant embeddings serving; smoke chat: serving",
		"full": "every command's preflight; profile status/wait; profile apply; profile apply --prune; costgate list; costgate sync; " +
			"costgate up/down: coding-assistant embeddings kserve serving; costgate pause/resume: kserve; smoke chat: serving",
	} {
		t.Run(profile, func(t *testing.T) {
			d, _ := newDoctor(t, profile)
			var got []string
			for _, n := range d.commandNeeds() {
				var namespaces []string
				for _, r := range n.Requests {
					if r.Namespace != "" && r.Namespace != d.Env.Config.Namespace && !slices.Contains(namespaces, r.Namespace) {
						namespaces = append(namespaces, r.Namespace)
					}
				}
				if len(namespaces) == 0 {
					got = append(got, n.Command)
					continue
				}
				slices.Sort(namespaces)
				got = append(got, n.Command+": "+strings.Join(namespaces, " "))
			}
			if g := strings.Join(got, "; "); g != want {
				t.Errorf("got  %s\nwant %s", g, want)
			}
		})
	}
}

// appsInScope holds only enabled groups' apps: llm-d is off in the sandbox.
func TestAppsInScopeSkipsDisabledGroups(t *testing.T) {
	d, _ := newDoctor(t, "")
	for _, a := range d.appsInScope() {
		if a.Group == "llm-d" {
			t.Errorf("app %s of the disabled group llm-d is in scope", a.Name)
		}
	}
	if !slices.ContainsFunc(d.Env.Apps, func(a platform.App) bool { return a.Group == "llm-d" }) {
		t.Fatal("the sandbox catalog has no llm-d app: the test proves nothing")
	}
}

// groups-fresh compares by meaning: a groups file with other formatting and no
// header is fresh; another meaning fails, naming the file and the config.
func TestGroupsFreshComparesByMeaning(t *testing.T) {
	root := platformtest.CopyTree(t, "../platform/testdata/adopt", nil)
	env, err := platform.Load(filepath.Join(root, "clusters"), "team")
	if err != nil {
		t.Fatal(err)
	}
	d := &Doctor{Env: env}
	if c := d.groupsFresh(context.Background()); c.Status != Pass || c.Message != "the resolved groups match ../../config/platform-config.yaml" {
		t.Errorf("the team's groups file: %+v", c)
	}
	env.Config.Features["demos"] = true
	c := d.groupsFresh(context.Background())
	if c.Status != Fail || !strings.Contains(c.Message, "stale against ../../config/platform-config.yaml: "+filepath.Join(root, "clusters", "team", "groups.yaml")) ||
		c.Fix != "kubectl profile resolve --env team, then commit" {
		t.Errorf("a stale groups file: %+v", c)
	}
}

// profile-objects names a missing layer's ApplicationSet as the tree names it.
func TestProfileObjectsNamesTheTreesApplicationSets(t *testing.T) {
	env, err := platform.Load("../platform/testdata/adopt/clusters", "team")
	if err != nil {
		t.Fatal(err)
	}
	p := smoketest.Profile(t, env, "inference")
	fake := kubetest.NewClient()
	d := &Doctor{Client: fake.Client, Env: env, Profile: &p}
	c := d.profileObjects(context.Background())
	if c.Status != Fail || c.Message != "missing: AppProject team, ApplicationSet edge-core (layer core), ApplicationSet edge-inference (layer inference)" {
		t.Errorf("%+v", c)
	}
}

// An ApplicationSet of the profile that reports an error is the reason its
// apps are absent: profile-apps fails naming it and Argo CD's message.
func TestProfileAppsNamesAFailingApplicationSet(t *testing.T) {
	isServingApp := func(o runtime.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		return ok && u.GetKind() == "Application" && u.GetName() == "group-serving-core"
	}
	objs := smoketest.Without(healthy(t, "serving"), isServingApp)
	for i, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GetKind() == "ApplicationSet" && u.GetName() == "layer-serving" {
			u = u.DeepCopy()
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "ErrorOccurred", "status": "True",
				"message": `error getting project research: AppProject.argoproj.io "research" not found`, "lastTransitionTime": "2026-11-26T11:00:00Z"}}, "status", "conditions")
			objs[i] = u
		}
	}
	d, fake := newDoctor(t, "serving", objs...)
	smoketest.Allow(fake, smoketest.AllowAll)
	c := d.profileApps(context.Background())
	want := `ApplicationSet layer-serving fails: error getting project research: AppProject.argoproj.io "research" not found; 1 of `
	if c.Status != Fail || !strings.HasPrefix(c.Message, want) {
		t.Errorf("%s: %s\nwant %s...", c.Status, c.Message, want)
	}
}
