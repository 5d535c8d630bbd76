package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/aidev-platform/kubectl-plugins/pkg/kube"
)

// Secrets are read so that no log at any -v shows their values.
//
// client-go's request machinery (rest.Request's Do, DoRaw and transformResponse)
// logs every response body at -v=8 and above, a protobuf body as a hex dump whose
// ASCII column shows the key; that logging is in the request, not in the
// transport, so no transport setting removes it. Even a metadata-only read is
// not safe to log: a Secret created with kubectl apply carries its data in the
// last-applied-configuration annotation. So the two Secret reads here do not go
// through rest.Request: each sends one GET with an http.Client from
// rest.HTTPClientFor (the kubeconfig's TLS, credentials, exec plugins, user agent
// and impersonation) and decodes the JSON itself. That client's transport still
// carries client-go's debugging round tripper from -v=6 on, which logs the URL,
// request headers (Authorization masked), status and response headers, and
// never a body.
//
// A client whose typed clientset is not client-go's REST clientset (the fakes of
// kubetest) has no HTTP to log and is asked directly.

// maxSecretBytes bounds what is read of a Secret (the API server caps them at 1 MiB).
const maxSecretBytes = 2 << 20

// partialMetadataJSON asks the API server for the object's metadata only.
const partialMetadataJSON = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// readSecret reads the one Secret whose value the chat probe needs.
func readSecret(ctx context.Context, c *kube.Client, namespace, name string) (*corev1.Secret, error) {
	clientset, overHTTP := c.Typed.(*kubernetes.Clientset)
	if !overHTTP {
		return c.Typed.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	body, err := getQuietly(ctx, c, clientset, namespace, name, "application/json")
	if err != nil {
		return nil, err
	}
	var s corev1.Secret
	if err := json.Unmarshal(body, &s); err != nil {
		// The error names the JSON position only, not the body.
		return nil, fmt.Errorf("GET Secret %s/%s: the answer is not a Secret in JSON: %v", namespace, name, err)
	}
	return &s, nil
}

// secretExists says whether a Secret exists, reading its metadata only (the
// doctor never needs a value).
func secretExists(ctx context.Context, c *kube.Client, namespace, name string) (bool, error) {
	var err error
	if clientset, overHTTP := c.Typed.(*kubernetes.Clientset); overHTTP {
		_, err = getQuietly(ctx, c, clientset, namespace, name, partialMetadataJSON)
	} else {
		_, err = c.Metadata.Resource(secretsGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// getQuietly GETs one Secret with a plain http.Client (see above) and returns
// the body of a 200, or the API error of any other answer.
func getQuietly(ctx context.Context, c *kube.Client, clientset *kubernetes.Clientset, namespace, name, accept string) ([]byte, error) {
	// The URL as the typed client builds it (server, path prefix, namespace);
	// the request itself is never sent through rest.Request.
	url := clientset.CoreV1().RESTClient().Get().Namespace(namespace).Resource("secrets").Name(name).URL()
	httpClient, err := rest.HTTPClientFor(c.Config)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSecretBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the answer to GET Secret %s/%s: %w", namespace, name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp.StatusCode, body, name)
	}
	return body, nil
}

// statusError turns a refused GET into the API error client-go would have
// returned, so apierrors.IsNotFound and kube.Explain work on it. A refusal's
// body is a metav1.Status, which holds no Secret data; any other body is left out.
func statusError(code int, body []byte, name string) error {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
		return &apierrors.StatusError{ErrStatus: st}
	}
	return apierrors.NewGenericServerResponse(code, http.MethodGet, schema.GroupResource{Resource: "secrets"}, name, http.StatusText(code), 0, false)
}
