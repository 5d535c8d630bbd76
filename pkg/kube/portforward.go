package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Forward is an open port-forward to a pod behind a Service.
type Forward struct {
	LocalPort int
	Pod       string // namespace/name
	PodPort   int
	stop      chan struct{}
}

// Close ends the port-forward.
func (f *Forward) Close() {
	if f.stop != nil {
		close(f.stop)
	}
}

// ForwardService opens a port-forward through the API server (client-go's
// portforward, no kubectl) to a Ready pod behind a Service's port, on a free
// local port of 127.0.0.1. Errors say which hop failed: the Service, its pods, or
// the forward itself.
func (c *Client) ForwardService(ctx context.Context, namespace, service string, port int32) (*Forward, error) {
	cs := c.Typed
	svc, err := cs.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("service %s/%s does not exist (is the app synced?)", namespace, service)
	}
	if err != nil {
		return nil, c.Explain(err, Kind{GVR: Pods.GVR, Kind: "Service"})
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return nil, fmt.Errorf("service %s/%s has no port %d", namespace, service, port)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, fmt.Errorf("service %s/%s selects no pods (no selector)", namespace, service)
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return nil, c.Explain(err, Pods)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		if podReady(&pods.Items[i]) {
			pod = &pods.Items[i]
			break
		}
	}
	if pod == nil {
		return nil, fmt.Errorf("pod not Ready: service %s/%s has %d pod(s), none Ready (is its cost gate up?)", namespace, service, len(pods.Items))
	}
	target, err := targetPort(sp, pod)
	if err != nil {
		return nil, fmt.Errorf("service %s/%s port %d: %w", namespace, service, port, err)
	}
	transport, upgrader, err := spdy.RoundTripperFor(c.Config)
	if err != nil {
		return nil, err
	}
	url := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod.Name).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(target)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return nil, err
	}
	failed := make(chan error, 1)
	go func() { failed <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-failed:
		return nil, fmt.Errorf("port-forward to pod %s/%s:%d failed: %w", namespace, pod.Name, target, c.Explain(err, Pods))
	case <-ctx.Done():
		close(stop)
		return nil, fmt.Errorf("port-forward to pod %s/%s:%d: %w", namespace, pod.Name, target, ctx.Err())
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		close(stop)
		return nil, fmt.Errorf("port-forward to pod %s/%s: no local port (%v)", namespace, pod.Name, err)
	}
	return &Forward{LocalPort: int(ports[0].Local), Pod: namespace + "/" + pod.Name, PodPort: target, stop: stop}, nil
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// targetPort resolves a Service port's targetPort (a number or a container
// port's name) on a pod.
func targetPort(sp *corev1.ServicePort, pod *corev1.Pod) (int, error) {
	switch {
	case sp.TargetPort.IntValue() > 0:
		return sp.TargetPort.IntValue(), nil
	case sp.TargetPort.StrVal == "":
		return int(sp.Port), nil
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == sp.TargetPort.StrVal {
				return int(p.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s has no container port named %q", pod.Name, sp.TargetPort.StrVal)
}
