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

// A named request says which object: RBAC's resourceNames grants it alone.
func TestWhereNamesTheObject(t *testing.T) {
	r := Request{Verb: "patch", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: "serving", ResourceName: "raw-vllm"}
	if got, want := r.String(), "patch deployments/scale.apps raw-vllm in serving"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	named := []Request{r, {Verb: "get", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: "serving", ResourceName: "raw-vllm"},
		{Verb: "get", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: "serving", ResourceName: "coder-chat"}}
	if got, want := Describe(named), "patch/get deployments/scale.apps raw-vllm in serving, get deployments/scale.apps coder-chat in serving"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
