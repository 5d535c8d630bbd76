package smoke

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aidev-platform/kubectl-plugins/pkg/smoke/smoketest"
)

// replaced swaps the object of the same kind and name in objs.
func replaced(objs []runtime.Object, with ...*unstructured.Unstructured) []runtime.Object {
	out := smoketest.Without(objs, func(o runtime.Object) bool {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return false
		}
		for _, w := range with {
			if u.GetKind() == w.GetKind() && u.GetName() == w.GetName() && u.GetNamespace() == w.GetNamespace() {
				return true
			}
		}
		return false
	})
	for _, w := range with {
		out = append(out, w)
	}
	return out
}

var keyRefs = []smoketest.RemoteRef{{SecretKey: "api-key", Key: "aidev-vllm-api-key"}, {SecretKey: "master-key", Key: "aidev-litellm", Property: "master_key"}, {SecretKey: "salt", Key: "aidev-litellm", Property: "salt_key"}}

func TestExternalSecretsPassWhenStoreAndSecretsAreReady(t *testing.T) {
	d, fake := newDoctor(t, "serving", healthy(t, "serving")...)
	smoketest.Allow(fake, smoketest.AllowAll)
	c := d.externalSecrets(context.Background())
	if c.Status != Pass || c.Message != "ClusterSecretStore secret-store Ready; all 1 ExternalSecrets of serving's apps synced" {
		t.Errorf("%+v", c)
	}
}

// A SecretSyncedError names the remote key: the check names the
// ExternalSecret, its app and that key (and property), and the fix is the
// script that seeds the remote secrets.
func TestExternalSecretsNameTheRemoteKeyThatFailed(t *testing.T) {
	for _, tc := range []struct{ name, message, want string }{
		{"by field", "could not get secret data from provider: error processing spec.data[1] (key: aidev-litellm), err: Secret does not exist",
			"serving/vllm-api-key (app group-serving-core): cannot read remote key aidev-litellm (property master_key): Ready=False SecretSyncedError"},
		{"by key and property", `secret "aidev-litellm" has no property salt_key`,
			"serving/vllm-api-key (app group-serving-core): cannot read remote key aidev-litellm (property salt_key): Ready=False SecretSyncedError"},
		{"by key", "rpc error: code = NotFound desc = Secret [projects/1/secrets/aidev-vllm-api-key] not found or has no versions",
			"serving/vllm-api-key (app group-serving-core): cannot read remote key aidev-vllm-api-key: Ready=False SecretSyncedError"},
		{"no key named", "could not get secret data from provider",
			"serving/vllm-api-key (app group-serving-core): Ready=False SecretSyncedError; it reads remote keys aidev-vllm-api-key, aidev-litellm (property master_key), aidev-litellm (property salt_key)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := smoketest.ExternalSecret("serving", "vllm-api-key", "secret-store", keyRefs, "False", "SecretSyncedError", tc.message)
			d, fake := newDoctor(t, "serving", replaced(healthy(t, "serving"), es)...)
			smoketest.Allow(fake, smoketest.AllowAll)
			c := d.externalSecrets(context.Background())
			want := "1 of 1 ExternalSecrets of serving's apps not Ready\n" + tc.want
			if c.Status != Fail || c.Message != want || c.Fix != "create the missing remote secrets: kubectl profile secrets --env sandbox -o script" {
				t.Errorf("got %s %q (fix %q)\nwant %q", c.Status, c.Message, c.Fix, want)
			}
		})
	}
}

// A key that is the start of a longer one named in the message is not the one meant.
func TestFailingRefsPrefersTheLongerKey(t *testing.T) {
	refs := []remoteRef{{"spec.data[0]", "aidev-n8n", ""}, {"spec.data[1]", "aidev-n8n-encryption-key", ""}}
	got := failingRefs(refs, "Secret aidev-n8n-encryption-key not found")
	if len(got) != 1 || got[0].key != "aidev-n8n-encryption-key" {
		t.Errorf("got %v", got)
	}
	if got := failingRefs(refs, "Secret aidev-n8n not found"); len(got) != 1 || got[0].key != "aidev-n8n" {
		t.Errorf("got %v", got)
	}
}

func TestExternalSecretsFailWhenTheStoreIsNotReady(t *testing.T) {
	store := smoketest.ClusterSecretStore("secret-store", "False", "InvalidProviderConfig", "unable to create client: workload identity: permission denied")
	d, fake := newDoctor(t, "serving", replaced(healthy(t, "serving"), store)...)
	smoketest.Allow(fake, smoketest.AllowAll)
	c := d.externalSecrets(context.Background())
	if c.Status != Fail || !strings.Contains(c.Message, "ClusterSecretStore secret-store not Ready: Ready=False InvalidProviderConfig: unable to create client") ||
		!strings.Contains(c.Fix, "workload-identity binding") {
		t.Errorf("%+v", c)
	}
}

// In server mode the ExternalSecrets and the store are read through the
// Applications that manage them (Argo CD's API).
func TestExternalSecretsInServerMode(t *testing.T) {
	env := smoketest.Sandbox(t, clusters)
	p := smoketest.Profile(t, env, "serving")
	es := smoketest.ExternalSecret("serving", "vllm-api-key", "secret-store", keyRefs, "False", "SecretSyncedError", "error processing spec.data[0] (key: aidev-vllm-api-key), err: not found")
	store := smoketest.ClusterSecretStore("secret-store", "True", "Valid", "")
	var apps []*unstructured.Unstructured
	for _, o := range smoketest.Applications(env, p, now, nil) {
		u := o.(*unstructured.Unstructured)
		switch u.GetName() {
		case "group-serving-core":
			smoketest.ManagedBy(u, es)
		case "group-platform-core":
			smoketest.ManagedBy(u, store)
		}
		apps = append(apps, u)
	}
	argo := &fakeArgo{loggedIn: true, apps: apps, resources: map[string]*unstructured.Unstructured{
		"group-serving-core ExternalSecret serving/vllm-api-key": es, "group-platform-core ClusterSecretStore /secret-store": store}}
	d := &Doctor{Argo: argo, Env: env, Profile: &p}
	c := d.externalSecrets(context.Background())
	want := "1 of 1 ExternalSecrets of serving's apps not Ready\nserving/vllm-api-key (app group-serving-core): cannot read remote key aidev-vllm-api-key: Ready=False SecretSyncedError"
	if c.Status != Fail || c.Message != want {
		t.Errorf("got %s %q\nwant %q", c.Status, c.Message, want)
	}
}
