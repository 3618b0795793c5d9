package kubedns

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiffhq/skiff/clusterdns"
)

// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the
// slices this controller writes.
const ManagedBy = "kube-dns.skiff.dev"

// maxEndpoints is the most endpoints one EndpointSlice holds (the API's
// limit); a larger cluster gets several slices.
const maxEndpoints = 1000

// Service returns the kube-dns Service for the cluster DNS address ip.
func Service(ip netip.Addr) *corev1.Service {
	local := corev1.ServiceInternalTrafficPolicyLocal
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: clusterdns.ServiceName, Namespace: clusterdns.ServiceNamespace,
			Labels: map[string]string{"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"},
		},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			ClusterIP:             ip.String(),
			ClusterIPs:            []string{ip.String()},
			InternalTrafficPolicy: &local,
			Ports:                 servicePorts(),
		},
	}
}

func servicePorts() []corev1.ServicePort {
	return []corev1.ServicePort{
		{Name: clusterdns.PortNameUDP, Protocol: corev1.ProtocolUDP, Port: clusterdns.Port, TargetPort: intstr.FromInt32(clusterdns.Port)},
		{Name: clusterdns.PortNameTCP, Protocol: corev1.ProtocolTCP, Port: clusterdns.Port, TargetPort: intstr.FromInt32(clusterdns.Port)},
	}
}

// serviceDrifted reports whether have differs from want in a field this
// controller owns and may update in place (the ClusterIP cannot be).
func serviceDrifted(have, want *corev1.Service) bool {
	if len(have.Spec.Selector) > 0 || have.Spec.InternalTrafficPolicy == nil ||
		*have.Spec.InternalTrafficPolicy != *want.Spec.InternalTrafficPolicy || len(have.Spec.Ports) != len(want.Spec.Ports) {
		return true
	}
	for i, p := range want.Spec.Ports {
		h := have.Spec.Ports[i]
		if h.Name != p.Name || h.Protocol != p.Protocol || h.Port != p.Port || h.TargetPort != p.TargetPort {
			return true
		}
	}
	return false
}

// Slices returns the EndpointSlices of the kube-dns Service svc for
// nodes: one endpoint per node with an IPv4 pod CIDR, at its DNS address,
// sorted by node name, at most maxEndpoints per slice, named
// kube-dns-<n>. Nodes without a usable pod CIDR are left out: they run no
// pods that need DNS yet.
func Slices(svc *corev1.Service, nodes []*corev1.Node) []*discoveryv1.EndpointSlice {
	var eps []discoveryv1.Endpoint
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b *corev1.Node) int { return cmp.Compare(a.Name, b.Name) })
	yes := true
	for _, n := range sorted {
		addr, err := clusterdns.NodeAddr(n.Spec.PodCIDR)
		if err != nil || !addr.Is4() {
			continue
		}
		eps = append(eps, discoveryv1.Endpoint{
			Addresses:  []string{addr.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: &yes, Serving: &yes, Terminating: new(bool)},
			NodeName:   &n.Name,
		})
	}
	var out []*discoveryv1.EndpointSlice
	for i := 0; i == 0 || i*maxEndpoints < len(eps); i++ {
		chunk := eps[i*maxEndpoints : min(len(eps), (i+1)*maxEndpoints)]
		out = append(out, slice(svc, fmt.Sprintf("%s-%d", svc.Name, i), chunk))
	}
	return out
}

func slice(svc *corev1.Service, name string, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	var ports []discoveryv1.EndpointPort
	for _, p := range servicePorts() {
		ports = append(ports, discoveryv1.EndpointPort{Name: &p.Name, Protocol: &p.Protocol, Port: &p.Port})
	}
	yes := true
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: svc.Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: ManagedBy},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
				Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       ports,
	}
}
