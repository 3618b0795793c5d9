package apiserver

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// nodeProxyHeaders are the request headers passed on to the worker; the
// client's credentials are not (the server presents its own certificate).
var nodeProxyHeaders = []string{"Accept", "Content-Type", "Content-Encoding"}

// nodeProxy serves nodes/{name}/proxy/{path}, GET and POST, as
// kube-apiserver does for kubelets: the request goes to the node's worker
// endpoint (its InternalIP and daemonEndpoints.kubeletEndpoint.port) with
// the path and query that follow "proxy", and both bodies stream, so
// large uploads (image archives) and slow answers (a stats summary takes
// a second when it has no earlier sample) pass without buffering. The
// authorizer allows the proxy subresource to administrators only.
//
// Unlike kube-apiserver, an error answer of the worker comes back as a
// Kubernetes Status naming the node (400, 404 and 413 keep their code;
// others become 503), so that clients show it as they show every API
// error.
func (h *handler) nodeProxy() error {
	obj, _, err := h.currentLocal()
	if err != nil {
		return err
	}
	if h.api.nodeTransport == nil {
		return apierrors.NewServiceUnavailable("this server cannot reach workers")
	}
	host, err := nodeEndpointOf(obj.(*corev1.Node))
	if err != nil {
		return err
	}
	target := url.URL{Scheme: "https", Host: host, Path: h.ri.ProxyPath, RawQuery: h.r.URL.RawQuery}
	var body io.Reader
	if h.r.Method == http.MethodPost {
		body = h.r.Body
	}
	req, err := http.NewRequestWithContext(h.ctx(), h.r.Method, target.String(), body)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("node proxy path %q: %v", h.ri.ProxyPath, err))
	}
	if body != nil {
		req.ContentLength = h.r.ContentLength
	}
	for _, k := range nodeProxyHeaders {
		if v := h.r.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := h.api.nodeTransport.RoundTrip(req)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("node %s: %v", h.ri.Name, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := fmt.Sprintf("node %s: %s", h.ri.Name, strings.TrimSpace(string(b)))
		switch resp.StatusCode {
		case http.StatusBadRequest:
			return apierrors.NewBadRequest(msg)
		case http.StatusNotFound:
			return apierrors.NewGenericServerResponse(http.StatusNotFound, h.r.Method, h.res.GVR.GroupResource(), h.ri.Name, msg, 0, false)
		case http.StatusRequestEntityTooLarge:
			return apierrors.NewRequestEntityTooLargeError(msg)
		}
		return apierrors.NewServiceUnavailable(fmt.Sprintf("%s (%s)", msg, resp.Status))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		h.w.Header().Set("Content-Type", ct)
	}
	h.w.WriteHeader(resp.StatusCode)
	fl, _ := h.w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := h.w.Write(buf[:n]); werr != nil {
				return nil
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if rerr != nil {
			return nil
		}
	}
}
