package endpoints

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	// ManagedBy is the value of the managed-by label on the EndpointSlices
	// this controller owns; slices with another value are left alone.
	ManagedBy = "endpointslice-controller.skiff.dev"
	// MaxEndpointsPerSlice is the largest number of endpoints one slice
	// holds, Kubernetes' default (--max-endpoints-per-slice).
	MaxEndpointsPerSlice = 100
	// LabelEndpointsManagedBy and EndpointsManagedBy mark the Endpoints
	// objects this controller made, the only ones it ever deletes.
	LabelEndpointsManagedBy = "endpoints.kubernetes.io/managed-by"
	EndpointsManagedBy      = "endpoint-controller.skiff.dev"
	// LabelHeadless marks the slices and Endpoints of a headless Service,
	// as Kubernetes does.
	LabelHeadless = "service.kubernetes.io/headless"
)

// Selects reports whether svc's selector picks pod: same namespace, a
// non-empty selector, and every selector label present on the pod.
func Selects(svc *corev1.Service, pod *corev1.Pod) bool {
	if len(svc.Spec.Selector) == 0 || svc.Namespace != pod.Namespace {
		return false
	}
	return labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels))
}

// managed reports whether the controller keeps endpoints for svc at all:
// it needs a selector, and an ExternalName Service has no endpoints.
func managed(svc *corev1.Service) bool {
	return len(svc.Spec.Selector) > 0 && svc.Spec.Type != corev1.ServiceTypeExternalName
}

// endpointPod is one pod that becomes an endpoint, with the facts the
// slices and the Endpoints object both need.
type endpointPod struct {
	pod         *corev1.Pod
	ports       []discoveryv1.EndpointPort // resolved per pod, in Service port order
	portsKey    string                     // identifies the port set, for grouping
	ready       bool                       // the "ready" condition
	serving     bool                       // the pod's Ready condition
	terminating bool
}

// candidates returns the pods of svc that can be endpoints: selected, with
// an IP, not finished. They are sorted by name so output is stable.
func candidates(svc *corev1.Service, pods []*corev1.Pod) []endpointPod {
	var out []endpointPod
	for _, p := range pods {
		if !Selects(svc, p) || len(podIPs(p)) == 0 {
			continue
		}
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ep := endpointPod{pod: p, serving: podReady(p), terminating: p.DeletionTimestamp != nil}
		// Kubernetes' rule: never ready while terminating, unless the
		// Service publishes not-ready addresses.
		ep.ready = svc.Spec.PublishNotReadyAddresses || (ep.serving && !ep.terminating)
		ep.ports = resolvePorts(svc, p)
		ep.portsKey = portsKey(ep.ports)
		out = append(out, ep)
	}
	slices.SortFunc(out, func(a, b endpointPod) int { return strings.Compare(a.pod.Name, b.pod.Name) })
	return out
}

// podReady reports whether the pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podIPs returns the pod's valid IPs: status.podIPs, else status.podIP.
func podIPs(p *corev1.Pod) []netip.Addr {
	var raw []string
	for _, ip := range p.Status.PodIPs {
		raw = append(raw, ip.IP)
	}
	if len(raw) == 0 && p.Status.PodIP != "" {
		raw = []string{p.Status.PodIP}
	}
	var out []netip.Addr
	for _, s := range raw {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// ipOf returns the pod's first IP of family, if any.
func ipOf(p *corev1.Pod, family corev1.IPFamily) (netip.Addr, bool) {
	for _, a := range podIPs(p) {
		if familyOf(a) == family {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func familyOf(a netip.Addr) corev1.IPFamily {
	if a.Is4() {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

// resolvePorts maps each Service port to the pod's port. A named
// targetPort is looked up among the pod's container ports with the same
// protocol; a port the pod does not declare is left out for that pod, as
// Kubernetes does.
func resolvePorts(svc *corev1.Service, p *corev1.Pod) []discoveryv1.EndpointPort {
	var out []discoveryv1.EndpointPort
	for _, sp := range svc.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		num, ok := targetPort(sp, proto, p)
		if !ok {
			continue
		}
		name := sp.Name
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &num, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

func targetPort(sp corev1.ServicePort, proto corev1.Protocol, p *corev1.Pod) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				cproto := cp.Protocol
				if cproto == "" {
					cproto = corev1.ProtocolTCP
				}
				if cp.Name == tp.StrVal && cproto == proto {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return tp.IntVal, true
	default:
		// An unset targetPort means "same as port", the API's default.
		return sp.Port, true
	}
}

// portsKey identifies a resolved port set; endpoints with equal keys share
// slices and Endpoints subsets.
func portsKey(ports []discoveryv1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s;", *p.Name, *p.Port, *p.Protocol)
	}
	return b.String()
}

// families returns the address types svc's slices use: the Service's
// ipFamilies, else IPv4 plus IPv6 when a selected pod has an IPv6 address.
func families(svc *corev1.Service, eps []endpointPod) []corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return slices.Clone(svc.Spec.IPFamilies)
	}
	out := []corev1.IPFamily{corev1.IPv4Protocol}
	for _, ep := range eps {
		if _, ok := ipOf(ep.pod, corev1.IPv6Protocol); ok {
			return append(out, corev1.IPv6Protocol)
		}
	}
	return out
}

// objectLabels returns the labels the controller puts on svc's slices and
// Endpoints: the Service's own labels plus the headless marker.
func objectLabels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Labels {
		out[k] = v
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[LabelHeadless] = ""
	} else {
		delete(out, LabelHeadless)
	}
	return out
}

func targetRef(p *corev1.Pod) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID}
}

// hostname returns the DNS hostname an endpoint gets: the pod's hostname
// when its subdomain names this Service.
func hostname(svc *corev1.Service, p *corev1.Pod) string {
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name {
		return p.Spec.Hostname
	}
	return ""
}

// sliceName returns the deterministic name of slice n of a family and port
// set, so a reconcile can match desired to existing slices by name.
func sliceName(svc *corev1.Service, family corev1.IPFamily, key string, n int) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("%s-%s-%08x-%d", svc.Name, strings.ToLower(string(family)), h.Sum32(), n)
}

func ownerRef(svc *corev1.Service) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}
