package costgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/aidev-platform/kubectl-plugins/internal/golden"
	"github.com/aidev-platform/kubectl-plugins/pkg/kube/kubetest"
	"github.com/aidev-platform/kubectl-plugins/pkg/platform"
)

// liveCluster holds every state a gate can be in: raw-vllm up, coder-chat
// starting, coder-fim down, coder-agent without its Deployment, kserve-demo
// paused, inference-demo up (synced by someone else: no opened-at), n8n up
// since its opening two hours ago though re-synced five minutes ago.
func liveCluster() []runtime.Object {
	return []runtime.Object{
		application("raw-vllm", "Synced", "Healthy", nil, ""),
		application("coder-chat", "Synced", "Healthy", nil, ""),
		application("coder-fim", "Synced", "Healthy", nil, ""),
		application("coder-agent", "OutOfSync", "Missing", nil, ""),
		application("kserve-demo", "Synced", "Healthy", nil, ""),
		application("inference-demo", "Synced", "Healthy", nil, "2026-11-26T11:30:00Z"),
		application("n8n", "Synced", "Healthy", map[string]string{OpenedAtAnnotation: "2026-11-26T10:00:00Z"}, "2026-11-26T11:55:00Z"),
		liveDeployment("serving", "raw-vllm", 1, 1, map[string]string{OpenedAtAnnotation: "2026-11-26T10:30:00Z"}),
		liveDeployment("coding-assistant", "coder-chat", 2, 1, map[string]string{OpenedAtAnnotation: "2026-11-26T11:55:00Z"}),
		liveDeployment("coding-assistant", "coder-fim", 0, 0, map[string]string{PreviousReplicasAnnotation: "1"}),
		inferenceService("kserve", "qwen-cpu", true, false),
	}
}

func TestReadLiveAndObserveEveryState(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient(liveCluster()...)
	live, err := gates(f).ReadLive(context.Background(), Gated(env))
	if err != nil {
		t.Fatal(err)
	}
	gated := Gated(env)
	statuses := Observe(platform.HostKubectl, gated, live, now)
	b, _ := json.MarshalIndent(statuses, "", "  ")
	var open []string
	for _, a := range OpenGates(gated, statuses) {
		open = append(open, a.Name)
	}
	golden.Assert(t, "testdata/observe.golden", string(b)+"\nopen: "+strings.Join(open, ", ")+"\n")

	// An Application alone, the layer of another: absent, and why.
	statuses = Observe(platform.HostKubectl, gated, Live{Apps: map[string]*unstructured.Unstructured{}}, now)
	if s := statuses[0]; s.State != StateAbsent || s.Reason != "no Application: its layer serving is not applied" {
		t.Errorf("no Application: %+v", s)
	}
}

func TestReadLiveWithoutKServeAndWhenForbidden(t *testing.T) {
	gated := Gated(sandbox(t))
	f := kubetest.NewClient(application("raw-vllm", "Synced", "Healthy", nil, ""))
	f.Dynamic.PrependReactor("list", "inferenceservices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "serving.kserve.io", Resource: "inferenceservices"}, "")
	})
	live, err := gates(f).ReadLive(context.Background(), gated)
	if err != nil || len(live.Apps) != 1 || len(live.Workloads) != 0 {
		t.Errorf("KServe not installed is no error: %v %+v", err, live)
	}

	f = kubetest.NewClient()
	f.Dynamic.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "", errors.New(`User "viewer" cannot list resource "deployments"`))
	})
	// A kind the user may not list: no error, its gates' kind is unreadable
	// (their state unknown, saying why); the other kinds are read.
	live, err = gates(f).ReadLive(context.Background(), gated)
	want := `not allowed on https://fake.cluster:6443 (context "fake"): deployments.apps is forbidden: User "viewer" cannot list resource "deployments"`
	deployments := WorkloadOf(gated[0]).Kind
	if err != nil || live.Unreadable[deployments] != want {
		t.Errorf("got %v, unreadable %v\nwant %s for %v", err, live.Unreadable, want, deployments)
	}
	live.Apps["raw-vllm"] = application("raw-vllm", "Synced", "Healthy", nil, "")
	if s := Observe(platform.HostKubectl, gated, live, now)[0]; s.App != "raw-vllm" || s.State != StateUnknown || s.Reason != want || s.Open() {
		t.Errorf("raw-vllm: %+v, want unknown, why, and not open", s)
	}
}

// down --all: every gate is tried; one the user may not close and one whose
// write fails are reported, the others closed, in one pass.
func TestCloseAllTriesEveryGateAndReportsEach(t *testing.T) {
	env := sandbox(t)
	f := kubetest.NewClient(
		liveDeployment("serving", "raw-vllm", 1, 1, nil),
		liveDeployment("coding-assistant", "coder-chat", 1, 1, nil),
		liveDeployment("coding-assistant", "coder-fim", 2, 2, nil),
		inferenceService("kserve", "qwen-cpu", false, true),
	)
	authorize(f, "patch inferenceservices.serving.kserve.io in kserve")
	f.Dynamic.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.PatchAction).GetName() == "coder-chat" {
			return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
		}
		return false, nil, nil
	})
	apps := []platform.App{gate(t, env, "raw-vllm"), gate(t, env, "coder-chat"), gate(t, env, "kserve-demo"), gate(t, env, "coder-fim")}
	var reported []string
	results := gates(f).CloseAll(context.Background(), apps, false, func(r Closed) {
		reported = append(reported, fmt.Sprintf("%+v", r.Change))
	}, nil)
	var lines []string
	for i, r := range results {
		lines = append(lines, fmt.Sprintf("%s: closed=%v down=%v err=%v", apps[i].Name, r.Closed, r.Down, r.Err))
	}
	golden.Assert(t, "testdata/close-all.golden", strings.Join(reported, "\n")+"\n--- results\n"+strings.Join(lines, "\n")+"\n--- writes\n"+f.Writes())
}

// mixedGates are n scale gates over four kinds (Deployment, StatefulSet,
// LeaderWorkerSet, the sandbox's Model), their Applications and workloads.
func mixedGates(n int) ([]platform.App, []runtime.Object) {
	kinds := []struct{ ref, apiVersion, kind string }{
		{"Deployment", "apps/v1", "Deployment"},
		{"StatefulSet", "apps/v1", "StatefulSet"},
		{"LeaderWorkerSet.leaderworkerset.x-k8s.io", "leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"},
		{"Model.sandbox.aidev.io", "sandbox.aidev.io/v1alpha1", "Model"},
	}
	var apps []platform.App
	var objs []runtime.Object
	for i := range n {
		k := kinds[i%len(kinds)]
		name := fmt.Sprintf("gate-%03d", i)
		group, _, _ := strings.Cut(k.apiVersion, "/")
		apps = append(apps, platform.App{Name: name, Gate: &platform.Gate{Kind: platform.GateScale,
			Target: &platform.ObjectRef{Group: group, Kind: k.kind, Namespace: "models", Name: name}}})
		objs = append(objs, application(name, "Synced", "Healthy", nil, ""),
			&unstructured.Unstructured{Object: map[string]any{"apiVersion": k.apiVersion, "kind": k.kind,
				"metadata": map[string]any{"name": name, "namespace": "models"}, "spec": map[string]any{"replicas": int64(i % 2)}}})
	}
	return apps, objs
}

// list reads 200 gates of four kinds in five requests: the Applications and
// one LIST per target kind, whatever the number of gates (kinds resolved
// through the RESTMapper, which asks the cluster nothing once cached).
func TestReadLiveIsOneListPerKind(t *testing.T) {
	apps, objs := mixedGates(200)
	f := kubetest.NewClient(objs...)
	live, err := gates(f).ReadLive(context.Background(), apps)
	if err != nil {
		t.Fatal(err)
	}
	var requests []string
	for _, a := range f.Dynamic.Actions() {
		requests = append(requests, a.GetVerb()+" "+a.GetResource().Resource)
	}
	want := "list applications, list deployments, list statefulsets, list leaderworkersets, list models"
	if got := strings.Join(requests, ", "); got != want {
		t.Errorf("requests: %s\nwant %s", got, want)
	}
	statuses := Observe(platform.HostKubectl, apps, live, now)
	open := 0
	for _, st := range statuses {
		if st.State == StateAbsent {
			t.Fatalf("%s absent: %s", st.App, st.Reason)
		}
		if st.Open() {
			open++
		}
	}
	if open != 100 {
		t.Errorf("%d open, want 100", open)
	}
}

func BenchmarkReadLive200MixedGates(b *testing.B) {
	apps, objs := mixedGates(200)
	g := gates(kubetest.NewClient(objs...))
	for b.Loop() {
		live, err := g.ReadLive(context.Background(), apps)
		if err != nil {
			b.Fatal(err)
		}
		_ = Observe(platform.HostKubectl, apps, live, now)
	}
}
