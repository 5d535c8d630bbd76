package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testRepo   = "ghcr.io/aidev-platform/kubectl-costgate"
	testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// deployment is a watcher Deployment as the tree writes it, with what SetImage
// must keep: comments, a sidecar whose image is of the same repository, another
// container named watcher in another document whose image is not.
const deployment = `# The costgate watcher: kubectl-costgate watch, in the cluster.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: costgate-watcher   # one replica
  namespace: costgate
spec:
  replicas: 1
  template:
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: sidecar
          image: ghcr.io/aidev-platform/kubectl-costgate:v0.1.0
        - args: [watch, --env, ai-dev]
          image: ghcr.io/aidev-platform/kubectl-costgate:v0.1.0 # set by make release
          name: watcher
          resources: {}
---
apiVersion: v1
kind: Pod
metadata: {name: other}
spec:
  containers:
    - {name: watcher, image: "docker.io/library/busybox:1.37"}
`

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "deployment.yaml")
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetImage(t *testing.T) {
	pinned := testRepo + "@" + testDigest
	for _, tc := range []struct {
		name, in, want string
	}{
		{
			name: "tag, comment and the other containers kept",
			in:   deployment,
			want: strings.Replace(deployment, "kubectl-costgate:v0.1.0 # set", "kubectl-costgate@"+testDigest+" # set", 1),
		},
		{
			name: "already a digest",
			in:   "containers:\n- name: watcher\n  image: " + testRepo + ":v1@sha256:" + strings.Repeat("f", 64) + "\n",
			want: "containers:\n- name: watcher\n  image: " + pinned + "\n",
		},
		{
			name: "double quoted, CRLF",
			in:   "containers:\r\n- name: \"watcher\"\r\n  image: \"" + testRepo + "\"\r\n",
			want: "containers:\r\n- name: \"watcher\"\r\n  image: \"" + pinned + "\"\r\n",
		},
		{
			name: "single quoted, flow style, init container, no newline at the end",
			in:   "initContainers: [{name: x, image: y}, {name: watcher, image: '" + testRepo + ":dev'}]",
			want: "initContainers: [{name: x, image: y}, {name: watcher, image: '" + pinned + "'}]",
		},
		{
			name: "a character of two bytes before it on its line",
			in:   "containers: [{name: watcher, é: 1, image: " + testRepo + ":v1}]\n",
			want: "containers: [{name: watcher, é: 1, image: " + pinned + "}]\n",
		},
		{
			name: "the same image again",
			in:   "containers:\n- name: watcher\n  image: " + pinned + "\n",
			want: "containers:\n- name: watcher\n  image: " + pinned + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.in)
			if err := SetImage(p, testRepo, testDigest); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want the file's 0640 kept", st.Mode())
			}
		})
	}
}

func TestSetImageRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in, repo, digest, wantErr string
	}{
		{
			name:    "no container named watcher",
			in:      "containers:\n- name: sidecar\n  image: " + testRepo + ":v1\n",
			wantErr: "no container named \"watcher\" with an image of " + testRepo,
		},
		{
			name:    "the watcher runs another repository's image",
			in:      "containers:\n- name: watcher\n  image: " + testRepo + "-other:v1\n",
			wantErr: "no container named \"watcher\"",
		},
		{
			name:    "a watcher without an image",
			in:      "containers:\n- name: watcher\n",
			wantErr: "no container named \"watcher\"",
		},
		{
			name:    "a block scalar",
			in:      "containers:\n- name: watcher\n  image: >-\n    " + testRepo + ":v1\n",
			wantErr: "block scalar",
		},
		{
			name:    "not YAML",
			in:      "containers: [\n",
			wantErr: "yaml",
		},
		{
			name:    "not a digest",
			in:      deployment,
			digest:  "v1.0.0",
			wantErr: "digest \"v1.0.0\"",
		},
		{
			name:    "a repository with a tag",
			in:      deployment,
			repo:    testRepo + "@" + testDigest,
			wantErr: "want a name without a tag or digest",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.in)
			repo, digest := testRepo, testDigest
			if tc.repo != "" {
				repo = tc.repo
			}
			if tc.digest != "" {
				digest = tc.digest
			}
			err := SetImage(p, repo, digest)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one with %q", err, tc.wantErr)
			}
			if tc.repo == "" && tc.digest == "" && !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			if got, _ := os.ReadFile(p); string(got) != tc.in {
				t.Errorf("the file changed:\n%s", got)
			}
		})
	}
	if err := SetImage(filepath.Join(t.TempDir(), "missing.yaml"), testRepo, testDigest); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("a missing file: error %v, want one naming it", err)
	}
}
