package apiserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/proxy"
)

// podExec serves POST and GET pods/{name}/exec (both authorized as create
// pods/exec): it checks the request against the pod as stored, then
// passes the connection, upgraded to SPDY or a websocket, on to the
// worker of the pod's node (its /exec/{ns}/{pod}/{container}), which
// speaks every remote command protocol kubectl does. The worker accepts
// only the server's client certificate, which Config.NodeTransport
// presents; the user's credentials are not passed on.
func (h *handler) podExec() error {
	if h.api.nodeTransport == nil {
		return apierrors.NewServiceUnavailable("this server cannot reach workers")
	}
	opts, err := parseExecOptions(h.r.URL.Query())
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	if err := h.readRev(""); err != nil {
		return err
	}
	obj, _, err := h.currentLocal()
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	container, err := execContainer(pod, opts.Container)
	if err != nil {
		return err
	}
	host, err := h.nodeEndpoint(pod.Spec.NodeName)
	if err != nil {
		return err
	}
	target := &url.URL{Scheme: "https", Host: host, RawQuery: workerExecQuery(opts).Encode(),
		Path: "/exec/" + url.PathEscape(pod.Namespace) + "/" + url.PathEscape(pod.Name) + "/" + url.PathEscape(container)}
	p := proxy.NewUpgradeAwareHandler(target, h.api.nodeTransport, false, true, execResponder{h.api, pod.Spec.NodeName})
	p.UseLocationHost = true
	p.ServeHTTP(h.w, withoutCredentials(h.r))
	return nil
}

// execContainer checks that the pod runs and has the container (named,
// or the only one), and returns its name.
func execContainer(pod *corev1.Pod, name string) (string, error) {
	if name == "" {
		if len(pod.Spec.Containers) != 1 {
			var names []string
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names))
		}
		name = pod.Spec.Containers[0].Name
	}
	if !hasContainer(pod, name) {
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	}
	switch {
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		return "", apierrors.NewBadRequest(fmt.Sprintf("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase))
	case pod.Spec.NodeName == "":
		return "", apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	for _, cs := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, s := range cs {
			if s.Name == name && s.State.Running == nil {
				return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not running in pod %s", name, pod.Name))
			}
		}
	}
	if pod.Status.Phase != corev1.PodRunning {
		return "", apierrors.NewBadRequest(fmt.Sprintf("pod %s is not running; current phase is %s", pod.Name, pod.Status.Phase))
	}
	return name, nil
}

// withoutCredentials is r without the user's credentials and
// impersonation headers: the worker learns who the server is from its
// certificate and has no business with the user's token.
func withoutCredentials(r *http.Request) *http.Request {
	out := r.Clone(r.Context())
	out.Header.Del("Authorization")
	for k := range out.Header {
		if strings.HasPrefix(k, "Impersonate-") {
			out.Header.Del(k)
		}
	}
	return out
}

// execResponder reports a failure to reach the worker as a Status.
type execResponder struct {
	api  *API
	node string
}

func (e execResponder) Error(w http.ResponseWriter, r *http.Request, err error) {
	if _, ok := err.(apierrors.APIStatus); !ok {
		err = apierrors.NewServiceUnavailable(fmt.Sprintf("node %s: %v", e.node, err))
	}
	e.api.writeError(w, r, err)
}
