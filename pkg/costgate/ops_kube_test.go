package costgate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
)

// Each case opens raw-vllm from one live Deployment and shows the change and
// the exact write (none when nothing changes or the open is refused).
func TestOpenScaleGate(t *testing.T) {
	env := sandbox(t)
	rawVLLM := gate(t, env, "raw-vllm")
	remembered := func(n string) map[string]string { return map[string]string{PreviousReplicasAnnotation: n} }
	for _, tc := range []struct {
		name string
		live *deploymentState
		opts OpenOptions
		max  string // the max-replicas annotation, when set
	}{
		{name: "closed opens to the replicas annotation", live: &deploymentState{0, nil}},
		{name: "closed opens to the remembered count", live: &deploymentState{0, remembered("2")}},
		{name: "open at 3 is never lowered", live: &deploymentState{3, nil}},
		{name: "open at 3 with a stale remembered count keeps 3", live: &deploymentState{3, remembered("1")}},
		{name: "open at 3 goes to an explicit 1", live: &deploymentState{3, nil}, opts: OpenOptions{Replicas: 1}},
		{name: "an explicit count above the maximum is refused", live: &deploymentState{0, nil}, opts: OpenOptions{Replicas: 9}},
		{name: "an explicit count above the maximum is forced", live: &deploymentState{0, nil}, opts: OpenOptions{Replicas: 9, Force: true}},
		{name: "a remembered count above the maximum is refused", live: &deploymentState{0, remembered("100000")}},
		{name: "the annotation lowers the maximum", live: &deploymentState{0, nil}, opts: OpenOptions{Replicas: 3}, max: "2"},
		{name: "a broken maximum is refused", live: &deploymentState{0, nil}, opts: OpenOptions{Replicas: 1}, max: "lots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := rawVLLM
			if tc.max != "" {
				app = withAnnotation(app, MaxReplicasAnnotation, tc.max)
			}
			f := kubetest.NewClient(liveDeployment("serving", "raw-vllm", tc.live.replicas, 0, nil), application("raw-vllm", "Synced", "Healthy", tc.live.annotations, ""))
			ch, err := gates(f).Open(context.Background(), app, tc.opts)
			got := fmt.Sprintf("change: %+v\nerror: %v\n--- writes\n%s", ch, err, f.Writes())
			golden.Assert(t, "testdata/open/"+strings.ReplaceAll(tc.name, " ", "-")+".golden", got)
		})
	}
}

type deploymentState struct {
	replicas    int64
	annotations map[string]string
}

func TestCloseRemembersTheCountAndPauseAnnotates(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient(
		liveDeployment("serving", "raw-vllm", 2, 2, nil),
		application("raw-vllm", "Synced", "Healthy", map[string]string{OpenedAtAnnotation: "2026-11-26T10:00:00Z", OpenedByAnnotation: "alice", ExpiresAtAnnotation: "2026-11-26T14:00:00Z"}, ""),
		liveDeployment("coding-assistant", "coder-chat", 0, 0, nil),
		application("coder-chat", "Synced", "Healthy", map[string]string{PreviousReplicasAnnotation: "1"}, ""),
		inferenceService("kserve", "qwen-cpu", false, true),
		application("kserve-demo", "Synced", "Healthy", nil, ""),
	)
	g := gates(f)
	ctx := context.Background()
	var lines []string
	for _, step := range []struct {
		verb string
		app  string
	}{{"close", "raw-vllm"}, {"close", "coder-chat"}, {"close", "kserve-demo"}, {"close", "kserve-demo"}, {"open", "kserve-demo"}} {
		var ch Change
		var err error
		if step.verb == "close" {
			ch, err = g.Close(ctx, gate(t, env, step.app))
		} else {
			ch, err = g.Open(ctx, gate(t, env, step.app), OpenOptions{})
		}
		lines = append(lines, fmt.Sprintf("%s %s: %+v %v", step.verb, step.app, ch, err))
	}
	golden.Assert(t, "testdata/close.golden", strings.Join(lines, "\n")+"\n--- writes\n"+f.Writes())
}

func TestOpenAndCloseSayWhatIsMissing(t *testing.T) {
	env := sandbox(t)
	g := gates(kubetest.NewClient(application("raw-vllm", "Synced", "Healthy", nil, ""), application("kserve-demo", "Synced", "Healthy", nil, "")))
	ctx := context.Background()
	for _, tc := range []struct {
		err  func() error
		want string
	}{
		{func() error { _, err := g.Open(ctx, gate(t, env, "raw-vllm"), OpenOptions{}); return err },
			"Deployment serving/raw-vllm does not exist: sync the app first (kubectl costgate sync raw-vllm)"},
		{func() error { _, err := g.Close(ctx, gate(t, env, "kserve-demo")); return err },
			"InferenceService kserve/qwen-cpu does not exist: sync the app first (kubectl costgate sync kserve-demo)"},
		{func() error { _, err := g.Open(ctx, gate(t, env, "n8n"), OpenOptions{}); return err },
			"Application n8n does not exist: apply a profile that holds layer experience (kubectl profile apply)"},
		{func() error { _, err := g.Close(ctx, gate(t, env, "n8n")); return err },
			"Application n8n does not exist: apply a profile that holds layer experience (kubectl profile apply)"},
	} {
		if err := tc.err(); err == nil || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

// A write that loses a race is retried from a fresh read with a backoff until
// the deadline, however many times it loses; the API server's "has been
// modified" is never what the user reads.
func TestConflictsAreRetriedUntilTheDeadline(t *testing.T) {
	old := conflictBackoff
	conflictBackoff.initial, conflictBackoff.max = time.Millisecond, 4*time.Millisecond
	t.Cleanup(func() { conflictBackoff = old })
	rawVLLM := gate(t, sandbox(t), "raw-vllm")
	conflicts := func(f *kubetest.Fake, n int64) *atomic.Int64 {
		var attempts atomic.Int64
		f.Dynamic.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
			if attempts.Add(1) <= n {
				return true, nil, apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "raw-vllm",
					errors.New("the object has been modified; please apply your changes to the latest version and try again"))
			}
			return false, nil, nil
		})
		return &attempts
	}

	f := kubetest.NewClient(liveDeployment("serving", "raw-vllm", 0, 0, nil), application("raw-vllm", "Synced", "Healthy", nil, ""))
	attempts := conflicts(f, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := gates(f).Open(ctx, rawVLLM, OpenOptions{})
	if err != nil || !ch.Changed || ch.To != "1" {
		t.Fatalf("after 10 conflicts: %+v %v", ch, err)
	}
	if n := attempts.Load(); n != 11 {
		t.Errorf("%d patches, want 10 refused and 1 accepted", n)
	}
	if d := f.Get(kube.Deployments, "serving", "raw-vllm"); d == nil || fmt.Sprint(d.Object["spec"].(map[string]any)["replicas"]) != "1" {
		t.Errorf("the last attempt did not land: %v", d)
	}

	f = kubetest.NewClient(liveDeployment("serving", "raw-vllm", 0, 0, nil), application("raw-vllm", "Synced", "Healthy", nil, ""))
	conflicts(f, 1<<30)
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = gates(f).Open(ctx, rawVLLM, OpenOptions{})
	if err == nil || strings.Contains(err.Error(), "has been modified") ||
		!strings.HasPrefix(err.Error(), "Deployment serving/raw-vllm kept changing under this write (") ||
		!strings.HasSuffix(err.Error(), " attempts, another writer?): context deadline exceeded") {
		t.Errorf("conflicts until the deadline: %v", err)
	}
}

func TestAuthorizeNamesEveryMissingPermission(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient()
	authorize(f, "patch deployments/scale.apps in serving", "watch pods in serving")
	g := gates(f)
	perms := append(SyncPermissions("argocd", gate(t, env, "raw-vllm")), GatePermissions("argocd", gate(t, env, "raw-vllm"), true)...)
	err := g.Authorize(context.Background(), perms)
	want := `missing permission (context "fake"): patch deployments/scale.apps in serving; watch pods in serving`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if err := g.Authorize(context.Background(), GatePermissions("argocd", gate(t, env, "kserve-demo"), false)); err != nil {
		t.Errorf("pause gate: %v", err)
	}
	var asked []string
	for _, a := range f.Typed.Actions() {
		review := a.(k8stesting.CreateAction).GetObject()
		asked = append(asked, fmt.Sprintf("%+v", *reviewAttributes(review)))
	}
	sort.Strings(asked) // the reviews are sent in parallel
	golden.Assert(t, "testdata/authorize.golden", strings.Join(asked, "\n")+"\n")

	// The typed fake denies by default: no reactor, no permission.
	if err := gates(kubetest.NewClient()).Authorize(context.Background(), SyncPermissions("argocd", gate(t, sandbox(t), "raw-vllm"))); err == nil {
		t.Error("an unanswered review must not allow")
	}
}

func TestMaxReplicas(t *testing.T) {
	app := gate(t, sandbox(t), "raw-vllm")
	if n, err := MaxReplicas(app); n != DefaultMaxReplicas || err != nil {
		t.Errorf("default: %d %v", n, err)
	}
	if n, err := MaxReplicas(withAnnotation(app, MaxReplicasAnnotation, " 4 ")); n != 4 || err != nil {
		t.Errorf("4: %d %v", n, err)
	}
	_, err := MaxReplicas(withAnnotation(app, MaxReplicasAnnotation, "0"))
	want := `Application raw-vllm: annotation costgate.aidev.io/max-replicas: "0" is not a positive whole number (fix ` + app.File + `)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestMarkOpenedAnnotatesTheApplication(t *testing.T) {
	app := gate(t, sandbox(t), "n8n")
	f := kubetest.NewClient(kubetest.Objects("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: n8n, namespace: argocd}\n")...)
	if err := gates(f).MarkOpened(context.Background(), app, OpenOptions{By: "alice"}); err != nil {
		t.Fatal(err)
	}
	want := "patch applications.argoproj.io argocd/n8n (fieldManager=kubectl-costgate, type=application/merge-patch+json)\n" +
		"  {\n    \"metadata\": {\n      \"annotations\": {\n        \"costgate.aidev.io/opened-at\": \"2026-11-26T12:00:00Z\",\n        \"costgate.aidev.io/opened-by\": \"alice\"\n      },\n      \"resourceVersion\": \"101\"\n    }\n  }\n"
	if got := f.Writes(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := gates(kubetest.NewClient()).MarkOpened(context.Background(), app, OpenOptions{}); err == nil || !strings.HasPrefix(err.Error(), "recording when n8n was opened: ") {
		t.Errorf("no Application: %v", err)
	}
}

// The record (on the Application) and the replicas (on the workload) are two
// writes: a down that lands its record between an up's two writes would leave
// the gate open without its opener and lease. The up reads both again after
// writing and puts the record back, so the gate is never open unrecorded.
func TestOpenConvergesWhenADownLandsBetweenItsWrites(t *testing.T) {
	app := gate(t, sandbox(t), "raw-vllm")
	f := kubetest.NewClient(liveDeployment("serving", "raw-vllm", 0, 0, nil), application("raw-vllm", "Synced", "Healthy", nil, ""))
	g := gates(f)
	var once sync.Once
	f.Dynamic.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		once.Do(func() { // a concurrent down's record lands first
			a := f.Get(kube.Applications, "argocd", "raw-vllm")
			a.SetAnnotations(nil)
			if err := f.Store(kube.Applications, a); err != nil {
				t.Error(err)
			}
		})
		return false, nil, nil
	})
	ch, err := g.Open(context.Background(), app, OpenOptions{By: "alice", For: time.Hour})
	if err != nil || ch.To != "1" || !ch.Changed {
		t.Fatalf("open: %+v %v", ch, err)
	}
	ann := f.Get(kube.Applications, "argocd", "raw-vllm").GetAnnotations()
	if ann[OpenedByAnnotation] != "alice" || ann[ExpiresAtAnnotation] != "2026-11-26T13:00:00Z" || ann[OpenedAtAnnotation] == "" {
		t.Errorf("open with its record lost: %v", ann)
	}
	if d := f.Get(kube.Deployments, "serving", "raw-vllm"); fmt.Sprint(d.Object["spec"].(map[string]any)["replicas"]) != "1" {
		t.Errorf("replicas: %v", d.Object["spec"])
	}
}
