package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

type svcCase = tcase[*corev1.Service]

func TestValidateService(t *testing.T) {
	twoPorts := func(s *corev1.Service) {
		s.Spec.Ports = []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP},
			{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443), Protocol: corev1.ProtocolTCP},
		}
	}
	runCases(t, testService, []svcCase{
		{name: "valid"},
		{name: "name must be a DNS-1035 label", mutate: func(s *corev1.Service) { s.Name = "1web" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "ports required", mutate: func(s *corev1.Service) { s.Spec.Ports = nil }, path: "spec.ports", typ: field.ErrorTypeRequired},
		{name: "headless without ports", mutate: func(s *corev1.Service) {
			s.Spec.Ports, s.Spec.ClusterIP, s.Spec.ClusterIPs = nil, corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		}},
		{name: "two named ports", mutate: twoPorts},
		{name: "port out of range", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, path: "spec.ports[0].port", typ: field.ErrorTypeInvalid},
		{name: "protocol unsupported", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "ICMP" }, path: "spec.ports[0].protocol", typ: field.ErrorTypeNotSupported},
		{name: "targetPort name invalid", mutate: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("HTTP") }, path: "spec.ports[0].targetPort", typ: field.ErrorTypeInvalid},
		{name: "names required with several ports", mutate: func(s *corev1.Service) {
			twoPorts(s)
			s.Spec.Ports[1].Name = ""
		}, path: "spec.ports[1].name", typ: field.ErrorTypeRequired},
		{name: "port names unique", mutate: func(s *corev1.Service) {
			twoPorts(s)
			s.Spec.Ports[1].Name = "http"
		}, path: "spec.ports[1].name", typ: field.ErrorTypeDuplicate},
		{name: "port and protocol unique", mutate: func(s *corev1.Service) {
			twoPorts(s)
			s.Spec.Ports[1].Port = 80
		}, path: "spec.ports[1]", typ: field.ErrorTypeDuplicate},
		{name: "nodePort on ClusterIP service", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 }, path: "spec.ports[0].nodePort", typ: field.ErrorTypeForbidden},
		{name: "LoadBalancer unsupported", mutate: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer }, path: "spec.type", typ: field.ErrorTypeNotSupported},
		{name: "ExternalName unsupported", mutate: func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example.com"
		}, path: "spec.type", typ: field.ErrorTypeNotSupported},
		{name: "selector invalid", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "no spaces"} }, path: "spec.selector", typ: field.ErrorTypeInvalid},
		{name: "sessionAffinity unsupported", mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" }, path: "spec.sessionAffinity", typ: field.ErrorTypeNotSupported},
		{name: "ClientIP affinity", mutate: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			Default(s)
		}},
		{name: "clusterIP invalid", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0", []string{"10.96.0"}
		}, path: "spec.clusterIPs[0]", typ: field.ErrorTypeInvalid},
		{name: "clusterIPs must match clusterIP", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.11"} }, path: "spec.clusterIPs", typ: field.ErrorTypeInvalid},
		{name: "IPv6 family not configured", mutate: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }, path: "spec.ipFamilies[0]", typ: field.ErrorTypeInvalid},
		{name: "RequireDualStack not configured", mutate: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
		}, path: "spec.ipFamilyPolicy", typ: field.ErrorTypeInvalid},
		{name: "externalIPs refused", mutate: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"203.0.113.7"} }, path: "spec.externalIPs", typ: field.ErrorTypeForbidden},
		{name: "externalTrafficPolicy on ClusterIP", mutate: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}, path: "spec.externalTrafficPolicy", typ: field.ErrorTypeInvalid},
		{name: "internalTrafficPolicy unsupported", mutate: func(s *corev1.Service) {
			s.Spec.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicy("Zone"))
		}, path: "spec.internalTrafficPolicy", typ: field.ErrorTypeNotSupported},
		{name: "loadBalancerSourceRanges refused", mutate: func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}, path: "spec.loadBalancerSourceRanges", typ: field.ErrorTypeForbidden},
		{name: "clusterIP immutable", update: true, mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", []string{"10.96.0.11"}
		}, path: "spec.clusterIP", typ: field.ErrorTypeInvalid},
		{name: "ports may change", update: true, mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 }},
		{name: "status may not carry load balancer ingress", status: true, mutate: func(s *corev1.Service) {
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}}
		}, path: "status.loadBalancer.ingress", typ: field.ErrorTypeForbidden},
	})
}

func TestValidateNodePortService(t *testing.T) {
	runCases(t, testNodePortService, []svcCase{
		{name: "valid"},
		{name: "nodePort below range", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 8080 }, path: "spec.ports[0].nodePort", typ: field.ErrorTypeInvalid},
		{name: "nodePort above range", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 40000 }, path: "spec.ports[0].nodePort", typ: field.ErrorTypeInvalid},
		{name: "nodePorts unique", mutate: func(s *corev1.Service) {
			s.Spec.Ports[0].Name = "http"
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "alt", Port: 81, TargetPort: intstr.FromInt32(81), Protocol: corev1.ProtocolTCP, NodePort: 30080})
		}, path: "spec.ports[1].nodePort", typ: field.ErrorTypeDuplicate},
		{name: "headless NodePort", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		}, path: "spec.clusterIPs[0]", typ: field.ErrorTypeInvalid},
		{name: "externalTrafficPolicy unsupported", mutate: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Nearest" }, path: "spec.externalTrafficPolicy", typ: field.ErrorTypeNotSupported},
		{name: "externalTrafficPolicy Local", mutate: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }},
	})
}

func TestServiceDefaults(t *testing.T) {
	s := testNodePortService()
	s.Spec.Ports[0].TargetPort = intstr.IntOrString{}
	Default(s)
	sp := s.Spec
	if sp.SessionAffinity != corev1.ServiceAffinityNone || sp.Ports[0].Protocol != corev1.ProtocolTCP ||
		sp.Ports[0].TargetPort != intstr.FromInt32(80) || sp.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster ||
		*sp.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster || *sp.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack ||
		len(sp.IPFamilies) != 1 || sp.IPFamilies[0] != corev1.IPv4Protocol || len(sp.ClusterIPs) != 1 || sp.ClusterIPs[0] != sp.ClusterIP {
		t.Fatalf("unexpected defaults: %+v", sp)
	}
	c := testService()
	c.Spec.ClusterIP = ""
	Default(c)
	if c.Spec.Type != corev1.ServiceTypeClusterIP || c.Spec.ExternalTrafficPolicy != "" || len(c.Spec.ClusterIPs) != 0 {
		t.Fatalf("unexpected ClusterIP defaults: %+v", c.Spec)
	}
}

func TestPrepareUpdateKeepsAllocations(t *testing.T) {
	old := testNodePortService()
	Default(old)
	// A client replaces the service with a manifest that omits what the
	// server allocated.
	s := testNodePortService()
	s.Spec.ClusterIP, s.Spec.Ports[0].NodePort = "", 0
	PrepareUpdate(s, old)
	Default(s)
	if errs := Validate(s, old); len(errs) > 0 {
		t.Fatalf("want no errors, got %v", errs)
	}
	if s.Spec.ClusterIP != "10.96.0.10" || s.Spec.Ports[0].NodePort != 30080 {
		t.Fatalf("allocations not kept: %+v", s.Spec)
	}
	// A changed ClusterIP is the client's and still refused.
	s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.99", nil
	PrepareUpdate(s, old)
	Default(s)
	if errs := Validate(s, old); !hasError(errs, "spec.clusterIP", field.ErrorTypeInvalid) {
		t.Fatalf("want clusterIP immutable, got %v", errs)
	}
	PrepareUpdate(testPod(), testPod()) // other kinds: no-op, no panic
}
