package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// PrepareUpdate carries over into obj what the server allocated for old
// and a client that replaces the whole object may have left out, as
// kube-apiserver's service registry does: a Service's clusterIP and
// clusterIPs, its IP families and policy, and the node ports of the ports
// it keeps. Call it on main-resource updates before Default and Validate;
// for other kinds it does nothing. Values the client did set are kept, so
// Validate still refuses a changed ClusterIP.
func PrepareUpdate(obj, old runtime.Object) {
	svc, ok := obj.(*corev1.Service)
	if !ok || isNilObject(svc) {
		return
	}
	prev, ok := old.(*corev1.Service)
	if !ok || isNilObject(prev) {
		return
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || prev.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	if svc.Spec.ClusterIP == "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIP = prev.Spec.ClusterIP
		svc.Spec.ClusterIPs = append([]string(nil), prev.Spec.ClusterIPs...)
	}
	if svc.Spec.IPFamilyPolicy == nil && prev.Spec.IPFamilyPolicy != nil {
		p := *prev.Spec.IPFamilyPolicy
		svc.Spec.IPFamilyPolicy = &p
	}
	if len(svc.Spec.IPFamilies) == 0 {
		svc.Spec.IPFamilies = append([]corev1.IPFamily(nil), prev.Spec.IPFamilies...)
	}
	if !needsNodePorts(svc.Spec.Type) && needsNodePorts(prev.Spec.Type) {
		// Like kube-apiserver's dropTypeDependentFields: a service that
		// stops being NodePort gives up the node ports and the external traffic policy it kept
		// unchanged
		// (the update releases them); ones the client changed are its
		// to answer for in validation.
		if !externallyAccessible(svc) && svc.Spec.ExternalTrafficPolicy == prev.Spec.ExternalTrafficPolicy {
			svc.Spec.ExternalTrafficPolicy = ""
		}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			for _, op := range prev.Spec.Ports {
				if p.NodePort != 0 && op.NodePort == p.NodePort && op.Port == p.Port && protocolOrTCP(op.Protocol) == protocolOrTCP(p.Protocol) {
					p.NodePort = 0
				}
			}
		}
		return
	}
	if !needsNodePorts(svc.Spec.Type) || !needsNodePorts(prev.Spec.Type) {
		return
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 {
			continue
		}
		for _, op := range prev.Spec.Ports {
			if op.Port == p.Port && protocolOrTCP(op.Protocol) == protocolOrTCP(p.Protocol) {
				p.NodePort = op.NodePort
				break
			}
		}
	}
}

func needsNodePorts(t corev1.ServiceType) bool {
	return t == corev1.ServiceTypeNodePort || t == corev1.ServiceTypeLoadBalancer
}

func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
