package apiserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// podLogParams are the query parameters of pods/{name}/log passed on to
// the worker; container is resolved here.
var podLogParams = []string{"follow", "tailLines", "sinceSeconds", "sinceTime", "timestamps", "previous"}

// podLog serves GET pods/{name}/log: it finds the pod's node and proxies
// the request to that node's worker (its kubelet endpoint,
// /containerLogs/{ns}/{pod}/{container}), streaming the answer, so that
// `kubectl logs` works, -f included. The worker accepts only the server's
// client certificate, which Config.NodeTransport presents.
func (h *handler) podLog() error {
	if h.api.nodeTransport == nil {
		return apierrors.NewServiceUnavailable("this server cannot reach workers")
	}
	if err := h.readRev(""); err != nil {
		return err
	}
	obj, _, err := h.currentLocal()
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	q := h.r.URL.Query()
	container := q.Get("container")
	if container == "" {
		if len(pod.Spec.Containers) != 1 {
			var names []string
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			return apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names))
		}
		container = pod.Spec.Containers[0].Name
	}
	if !hasContainer(pod, container) {
		return apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
	}
	for _, p := range []string{"tailLines", "sinceSeconds", "limitBytes"} {
		if v := q.Get(p); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
				return apierrors.NewBadRequest(p + " must be a non-negative integer")
			}
		}
	}
	if pod.Spec.NodeName == "" {
		return apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	host, err := h.nodeEndpoint(pod.Spec.NodeName)
	if err != nil {
		return err
	}
	out := url.Values{}
	for _, p := range podLogParams {
		if v := q.Get(p); v != "" {
			out.Set(p, v)
		}
	}
	target := url.URL{Scheme: "https", Host: host, RawQuery: out.Encode(),
		Path: "/containerLogs/" + url.PathEscape(pod.Namespace) + "/" + url.PathEscape(pod.Name) + "/" + url.PathEscape(container)}
	req, err := http.NewRequestWithContext(h.ctx(), http.MethodGet, target.String(), nil)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	resp, err := h.api.nodeTransport.RoundTrip(req)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("node %s: %v", pod.Spec.NodeName, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest {
			return apierrors.NewBadRequest(strings.TrimSpace(string(msg)))
		}
		return apierrors.NewServiceUnavailable(fmt.Sprintf("node %s: %s: %s", pod.Spec.NodeName, resp.Status, strings.TrimSpace(string(msg))))
	}
	h.w.Header().Set("Content-Type", "text/plain")
	h.w.WriteHeader(http.StatusOK)
	// A ResponseController, not a type assertion: the metrics recorder
	// wraps the writer (with Unwrap), and without a flush per read a
	// followed log sat in the server's buffer and never reached the client.
	rc := http.NewResponseController(h.w)
	limit := int64(-1)
	if v := q.Get("limitBytes"); v != "" {
		limit, _ = strconv.ParseInt(v, 10, 64)
	}
	buf := make([]byte, 32<<10)
	for limit != 0 {
		n, rerr := resp.Body.Read(buf)
		if limit > 0 && int64(n) > limit {
			n = int(limit)
		}
		if n > 0 {
			if _, werr := h.w.Write(buf[:n]); werr != nil {
				return nil
			}
			rc.Flush() // a writer that cannot flush still gets every byte
			if limit > 0 {
				limit -= int64(n)
			}
		}
		if rerr != nil {
			return nil
		}
	}
	return nil
}

// nodeEndpoint returns host:port of the registered node's worker
// endpoint.
func (h *handler) nodeEndpoint(name string) (string, error) {
	kv, ok, _ := h.api.store.Store().Get("/registry/nodes/" + name)
	if !ok {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %s is not registered", name))
	}
	var n corev1.Node
	if err := json.Unmarshal(kv.Value, &n); err != nil {
		return "", apierrors.NewInternalError(err)
	}
	return nodeEndpointOf(&n)
}

// nodeEndpointOf returns host:port of the node's worker endpoint: its
// InternalIP (else any address) and daemonEndpoints.kubeletEndpoint.port.
func nodeEndpointOf(n *corev1.Node) (string, error) {
	port := n.Status.DaemonEndpoints.KubeletEndpoint.Port
	addr := ""
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP || addr == "" {
			addr = a.Address
		}
	}
	if addr == "" || port == 0 {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %s advertises no worker endpoint", n.Name))
	}
	return net.JoinHostPort(addr, strconv.Itoa(int(port))), nil
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}
