package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// Known kinds: group/version/resource and whether they are namespaced.
var (
	AppProjects       = Kind{schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"}, "AppProject", true}
	ApplicationSets   = Kind{schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}, "ApplicationSet", true}
	Applications      = Kind{schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}, "Application", true}
	Deployments       = Kind{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment", true}
	StatefulSets      = Kind{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "StatefulSet", true}
	HPAs              = Kind{schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}, "HorizontalPodAutoscaler", true}
	InferenceServices = Kind{schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}, "InferenceService", true}
	ConfigMaps        = Kind{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "ConfigMap", true}
	Pods              = Kind{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod", true}
)

// Kind is a resource the plugins know without discovery.
type Kind struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// GroupKind is the kind as "Kind.group", the form ApplySet annotations use.
func (k Kind) GroupKind() string {
	if k.GVR.Group == "" {
		return k.Kind
	}
	return k.Kind + "." + k.GVR.Group
}

var known = []Kind{AppProjects, ApplicationSets, Applications, Deployments, InferenceServices, ConfigMaps, Pods}

// KindFor maps an object's apiVersion and kind to a known resource.
func KindFor(apiVersion, kind string) (Kind, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return Kind{}, err
	}
	for _, k := range known {
		if k.GVR.Group == gv.Group && k.GVR.Version == gv.Version && k.Kind == kind {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("%s %s is not a kind this plugin manages", apiVersion, kind)
}

// Client is a connection to one cluster: the dynamic client for the kinds the
// plugins manage, the typed one for core objects (nodes, Secrets, access
// reviews), and the metadata one for reads that must not fetch values. Building
// one makes no request; tests build it over fakes (kubetest.NewClient).
type Client struct {
	Config   *rest.Config
	Dynamic  dynamic.Interface
	Typed    kubernetes.Interface
	Metadata metadata.Interface
	// Mapper and Discovery resolve kinds the plugins do not know (a gate's
	// StatefulSet or custom resource): kubectl's, cached on disk.
	Mapper    meta.RESTMapper
	Discovery discovery.DiscoveryInterface
	// Where: the server and the kubeconfig context, for error messages.
	Server  string
	Context string
}

// DefaultRequestTimeout bounds the first request when --request-timeout is not
// set, so a kubeconfig that points nowhere fails fast instead of hanging.
const DefaultRequestTimeout = 15 * time.Second

// NewClient builds a client from kubectl's standard flags; userAgent names the
// plugin and its version in the API server's logs.
func NewClient(flags *genericclioptions.ConfigFlags, userAgent string) (*Client, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	if userAgent != "" {
		cfg.UserAgent = userAgent
	}
	raw, _ := flags.ToRawKubeConfigLoader().RawConfig()
	ctxName := raw.CurrentContext
	if flags.Context != nil && *flags.Context != "" {
		ctxName = *flags.Context
	}
	c := &Client{Config: cfg, Server: cfg.Host, Context: ctxName}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, err
	}
	// Neither makes a request until a kind is resolved.
	if c.Discovery, err = flags.ToDiscoveryClient(); err != nil {
		return nil, err
	}
	if c.Mapper, err = flags.ToRESTMapper(); err != nil {
		return nil, err
	}
	return c, nil
}

// AddTypedClients builds the typed and metadata clients of c. Only the plugins
// that read core objects call it (their roots hand it to the factory): a
// reference from the shared NewClient would link every API group's typed client
// into kubectl-profile too (about 10 MB).
func AddTypedClients(c *Client) error {
	var err error
	if c.Typed, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	c.Metadata, err = metadata.NewForConfig(c.Config)
	return err
}

// Resource returns the dynamic client for a known kind in a namespace.
func (c *Client) Resource(k Kind, namespace string) dynamic.ResourceInterface {
	if !k.Namespaced {
		return c.Dynamic.Resource(k.GVR)
	}
	return c.Dynamic.Resource(k.GVR).Namespace(namespace)
}

// Preflight checks, before anything is written, that the cluster answers and that
// Argo CD's CRDs are installed, with an error that says which.
func (c *Client) Preflight(ctx context.Context, namespace string) error {
	pctx := ctx
	if c.Config.Timeout == 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, DefaultRequestTimeout)
		defer cancel()
	}
	_, err := c.Resource(AppProjects, namespace).List(pctx, metav1.ListOptions{Limit: 1})
	switch {
	case err == nil:
		return nil
	case ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("cannot reach the cluster at %s (context %q): no answer in %s", c.Server, c.Context, DefaultRequestTimeout)
	}
	return c.Explain(err, AppProjects)
}

// Explain turns an API error into one that says what is wrong in the user's terms:
// which server could not be reached, or that a CRD (Argo CD) is missing.
func (c *Client) Explain(err error, k Kind) error {
	if err == nil {
		return nil
	}
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case IsMissingKind(err):
		if k.GVR.Group == "argoproj.io" {
			return fmt.Errorf("Argo CD is not installed on %s (context %q): the API has no %s (%s)", c.Server, c.Context, k.GVR.Resource, k.GVR.GroupVersion())
		}
		return fmt.Errorf("%s (%s) is not served by %s: is its CRD installed?", k.GVR.Resource, k.GVR.GroupVersion(), c.Server)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s (context %q) refused the credentials: %v", c.Server, c.Context, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("not allowed on %s (context %q): %v", c.Server, c.Context, err)
	case errors.Is(err, context.Canceled):
		// The command was interrupted, not the cluster unreachable.
		return fmt.Errorf("interrupted before the cluster at %s (context %q) answered", c.Server, c.Context)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer from the cluster at %s (context %q) before the deadline (the command's --timeout, or --request-timeout)", c.Server, c.Context)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("cannot reach the cluster at %s (context %q): no answer within the request timeout", c.Server, c.Context)
	case errors.As(err, &urlErr):
		return fmt.Errorf("cannot reach the cluster at %s (context %q): %v", c.Server, c.Context, urlErr.Err)
	}
	return err
}

// IsMissingKind tells a 404 for the resource type (CRD absent) from a 404 for one
// object: the former has no object name in its details.
func IsMissingKind(err error) bool {
	if !apierrors.IsNotFound(err) {
		return false
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d == nil || d.Name == "" || strings.Contains(status.Status().Message, "the server could not find the requested resource")
}
