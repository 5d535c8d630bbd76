package access

import "testing"

func TestDescribeJoinsVerbsPerResourceInFirstAskedOrder(t *testing.T) {
	rs := Unique(append(Requests("apps", "deployments", []string{"get", "patch"}, "serving", "coding-assistant"),
		Request{Verb: "get", Group: "apps", Resource: "deployments", Namespace: "serving"},
		Request{Verb: "create", Resource: "pods", Subresource: "portforward", Namespace: "serving"},
		Request{Verb: "list", Group: "serving.kserve.io", Resource: "inferenceservices"}))
	if len(rs) != 6 {
		t.Errorf("Unique kept %d requests, want 6: %v", len(rs), rs)
	}
	want := "get/patch deployments.apps in serving, get/patch deployments.apps in coding-assistant, " +
		"create pods/portforward in serving, list inferenceservices.serving.kserve.io in all namespaces"
	if got := Describe(rs); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := rs[0].String(); got != "get deployments.apps in serving" {
		t.Errorf("String: %s", got)
	}
}
