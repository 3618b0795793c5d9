package endpoints

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DesiredSlices returns the EndpointSlices svc should have, given pods (any
// superset of the Service's pods; the selector is applied here). It
// returns nil for a Service the controller does not manage (no selector,
// or ExternalName).
//
// Endpoints are grouped by address family and resolved port set, sorted by
// pod name and cut into slices of at most MaxEndpointsPerSlice. A family
// with no endpoint still gets one empty slice, as Kubernetes' placeholder,
// so clients can tell "no endpoints" from "not reconciled yet". Terminating
// pods stay in the slices with terminating=true.
func DesiredSlices(svc *corev1.Service, pods []*corev1.Pod) []*discoveryv1.EndpointSlice {
	if !managed(svc) {
		return nil
	}
	eps := candidates(svc, pods)
	var out []*discoveryv1.EndpointSlice
	for _, fam := range families(svc, eps) {
		groups := map[string][]discoveryv1.Endpoint{}
		groupPorts := map[string][]discoveryv1.EndpointPort{}
		var keys []string
		for _, ep := range eps {
			ip, ok := ipOf(ep.pod, fam)
			if !ok {
				continue
			}
			if _, seen := groups[ep.portsKey]; !seen {
				keys = append(keys, ep.portsKey)
				groupPorts[ep.portsKey] = ep.ports
			}
			groups[ep.portsKey] = append(groups[ep.portsKey], sliceEndpoint(svc, ep, ip))
		}
		if len(keys) == 0 {
			out = append(out, newSlice(svc, fam, "", 0, nil, nil))
			continue
		}
		slices.Sort(keys)
		for _, key := range keys {
			all := groups[key]
			for n := 0; n*MaxEndpointsPerSlice < len(all); n++ {
				chunk := all[n*MaxEndpointsPerSlice : min((n+1)*MaxEndpointsPerSlice, len(all))]
				out = append(out, newSlice(svc, fam, key, n, groupPorts[key], chunk))
			}
		}
	}
	return out
}

func sliceEndpoint(svc *corev1.Service, ep endpointPod, ip netip.Addr) discoveryv1.Endpoint {
	ready, serving, terminating := ep.ready, ep.serving, ep.terminating
	e := discoveryv1.Endpoint{
		Addresses:  []string{ip.String()},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  targetRef(ep.pod),
	}
	if n := ep.pod.Spec.NodeName; n != "" {
		e.NodeName = &n
	}
	if h := hostname(svc, ep.pod); h != "" {
		e.Hostname = &h
	}
	return e
}

func newSlice(svc *corev1.Service, fam corev1.IPFamily, key string, n int, ports []discoveryv1.EndpointPort, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	lbl := objectLabels(svc)
	lbl[discoveryv1.LabelServiceName] = svc.Name
	lbl[discoveryv1.LabelManagedBy] = ManagedBy
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:            sliceName(svc, fam, key, n),
			Namespace:       svc.Namespace,
			Labels:          lbl,
			OwnerReferences: []metav1.OwnerReference{ownerRef(svc)},
		},
		AddressType: discoveryv1.AddressType(fam),
		Endpoints:   eps,
		Ports:       ports,
	}
}

// DesiredEndpoints returns the legacy Endpoints object of svc, or nil for
// a Service the controller does not manage. It lists the pods' IPs of the
// Service's primary family: ready pods under addresses, others under
// notReadyAddresses, one subset per resolved port set. Terminating pods
// are left out unless the Service publishes not-ready addresses.
func DesiredEndpoints(svc *corev1.Service, pods []*corev1.Pod) *corev1.Endpoints {
	if !managed(svc) {
		return nil
	}
	primary := corev1.IPv4Protocol
	if len(svc.Spec.IPFamilies) > 0 {
		primary = svc.Spec.IPFamilies[0]
	}
	type subset struct {
		ports           []corev1.EndpointPort
		ready, notReady []corev1.EndpointAddress
	}
	byKey := map[string]*subset{}
	var keys []string
	for _, ep := range candidates(svc, pods) {
		if ep.terminating && !svc.Spec.PublishNotReadyAddresses {
			continue
		}
		ip, ok := ipOf(ep.pod, primary)
		if !ok {
			continue
		}
		s := byKey[ep.portsKey]
		if s == nil {
			s = &subset{ports: legacyPorts(ep.ports)}
			byKey[ep.portsKey] = s
			keys = append(keys, ep.portsKey)
		}
		addr := corev1.EndpointAddress{IP: ip.String(), Hostname: hostname(svc, ep.pod), TargetRef: targetRef(ep.pod)}
		if n := ep.pod.Spec.NodeName; n != "" {
			addr.NodeName = &n
		}
		if ep.ready {
			s.ready = append(s.ready, addr)
		} else {
			s.notReady = append(s.notReady, addr)
		}
	}
	slices.Sort(keys)
	lbl := objectLabels(svc)
	lbl[LabelEndpointsManagedBy] = EndpointsManagedBy
	out := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: svc.Name, Namespace: svc.Namespace, Labels: lbl}}
	for _, k := range keys {
		s := byKey[k]
		byIP := func(a, b corev1.EndpointAddress) int { return strings.Compare(a.IP, b.IP) }
		slices.SortFunc(s.ready, byIP)
		slices.SortFunc(s.notReady, byIP)
		out.Subsets = append(out.Subsets, corev1.EndpointSubset{Addresses: s.ready, NotReadyAddresses: s.notReady, Ports: s.ports})
	}
	return out
}

func legacyPorts(ports []discoveryv1.EndpointPort) []corev1.EndpointPort {
	var out []corev1.EndpointPort
	for _, p := range ports {
		out = append(out, corev1.EndpointPort{Name: *p.Name, Port: *p.Port, Protocol: *p.Protocol, AppProtocol: p.AppProtocol})
	}
	return out
}
