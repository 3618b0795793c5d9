package netproxy

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// ServicePort is one port of one Service with the endpoints that serve
// it, as the rule generator needs it.
type ServicePort struct {
	Namespace, Name, PortName string
	Proto                     Proto
	ClusterIP                 netip.Addr // IPv4; the zero Addr if none
	Port                      uint16
	NodePort                  uint16 // 0 if none
	// ExternalLocal is externalTrafficPolicy: Local; InternalLocal is
	// internalTrafficPolicy: Local.
	ExternalLocal, InternalLocal bool
	// Affinity is the ClientIP affinity timeout; 0 means no affinity.
	Affinity time.Duration
	// Endpoints are the ready endpoints, sorted by address and port.
	Endpoints []Endpoint
}

// Endpoint is one ready backend of a ServicePort.
type Endpoint struct {
	Addr  netip.Addr
	Port  uint16
	Local bool // on this node
}

// id names the service-port in chain and set names; it is unique because
// Kubernetes makes namespace, name, protocol and port name unique.
func (sp *ServicePort) id() string {
	return sp.Namespace + "/" + sp.Name + "/" + sp.Proto.String() + "/" + sp.PortName
}

func protoOf(p v1.Protocol) (Proto, bool) {
	switch p {
	case v1.ProtocolTCP, "":
		return TCP, true
	case v1.ProtocolUDP:
		return UDP, true
	case v1.ProtocolSCTP:
		return SCTP, true
	}
	return 0, false
}

// Translate turns Services and EndpointSlices into ServicePorts for the
// node nodeName, sorted by id. Headless and ExternalName Services, and
// Services without an IPv4 ClusterIP, are left out. An endpoint whose
// ready condition is unset counts as ready, as the API defines it.
func Translate(services []*v1.Service, slices_ []*discoveryv1.EndpointSlice, nodeName string) []ServicePort {
	bySvc := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range slices_ {
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" || s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		key := s.Namespace + "/" + name
		bySvc[key] = append(bySvc[key], s)
	}
	var out []ServicePort
	for _, svc := range services {
		if svc.Spec.Type == v1.ServiceTypeExternalName {
			continue
		}
		cip := firstIPv4(svc.Spec.ClusterIPs, svc.Spec.ClusterIP)
		if !cip.IsValid() {
			continue
		}
		for _, p := range svc.Spec.Ports {
			proto, ok := protoOf(p.Protocol)
			if !ok || p.Port <= 0 || p.Port > 65535 {
				continue
			}
			sp := ServicePort{
				Namespace: svc.Namespace, Name: svc.Name, PortName: p.Name,
				Proto: proto, ClusterIP: cip, Port: uint16(p.Port),
				ExternalLocal: svc.Spec.ExternalTrafficPolicy == v1.ServiceExternalTrafficPolicyLocal,
				InternalLocal: svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == v1.ServiceInternalTrafficPolicyLocal,
			}
			if (svc.Spec.Type == v1.ServiceTypeNodePort || svc.Spec.Type == v1.ServiceTypeLoadBalancer) && p.NodePort > 0 && p.NodePort <= 65535 {
				sp.NodePort = uint16(p.NodePort)
			}
			if svc.Spec.SessionAffinity == v1.ServiceAffinityClientIP {
				sp.Affinity = time.Duration(v1.DefaultClientIPServiceAffinitySeconds) * time.Second
				if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil && *c.ClientIP.TimeoutSeconds > 0 {
					sp.Affinity = time.Duration(*c.ClientIP.TimeoutSeconds) * time.Second
				}
			}
			sp.Endpoints = endpointsFor(bySvc[svc.Namespace+"/"+svc.Name], p.Name, proto, nodeName)
			out = append(out, sp)
		}
	}
	slices.SortFunc(out, func(a, b ServicePort) int { return cmp.Compare(a.id(), b.id()) })
	return out
}

func firstIPv4(ips []string, ip string) netip.Addr {
	for _, s := range append(slices.Clone(ips), ip) {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			return a
		}
	}
	return netip.Addr{}
}

// endpointsFor collects the ready endpoints of the named port across a
// Service's slices, without duplicates.
func endpointsFor(sl []*discoveryv1.EndpointSlice, portName string, proto Proto, nodeName string) []Endpoint {
	seen := map[Endpoint]bool{}
	var out []Endpoint
	for _, s := range sl {
		var port int32
		for _, p := range s.Ports {
			pp := v1.ProtocolTCP
			if p.Protocol != nil {
				pp = *p.Protocol
			}
			name := ""
			if p.Name != nil {
				name = *p.Name
			}
			if got, ok := protoOf(pp); ok && got == proto && name == portName && p.Port != nil {
				port = *p.Port
			}
		}
		if port <= 0 || port > 65535 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			local := e.NodeName != nil && *e.NodeName == nodeName
			for _, a := range e.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil || !addr.Is4() {
					continue
				}
				ep := Endpoint{Addr: addr, Port: uint16(port), Local: local}
				key := Endpoint{Addr: addr, Port: uint16(port)}
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, ep)
			}
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return cmp.Compare(a.Port, b.Port)
	})
	return out
}
