package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateEndpoints(t *testing.T) {
	runCases(t, testEndpoints, []tcase[*corev1.Endpoints]{
		{name: "valid"},
		{name: "addresses required", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses = nil }, path: "subsets[0]", typ: field.ErrorTypeRequired},
		{name: "not-ready addresses suffice", mutate: func(e *corev1.Endpoints) {
			e.Subsets[0].NotReadyAddresses, e.Subsets[0].Addresses = e.Subsets[0].Addresses, nil
		}},
		{name: "ip invalid", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "10.244.1" }, path: "subsets[0].addresses[0].ip", typ: field.ErrorTypeInvalid},
		{name: "ip loopback", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "127.0.0.1" }, path: "subsets[0].addresses[0].ip", typ: field.ErrorTypeInvalid},
		{name: "hostname not a label", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Hostname = "a.b" }, path: "subsets[0].addresses[0].hostname", typ: field.ErrorTypeInvalid},
		{name: "port out of range", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 0 }, path: "subsets[0].ports[0].port", typ: field.ErrorTypeInvalid},
		{name: "protocol unsupported", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Protocol = "QUIC" }, path: "subsets[0].ports[0].protocol", typ: field.ErrorTypeNotSupported},
		{name: "names required with several ports", mutate: func(e *corev1.Endpoints) {
			e.Subsets[0].Ports = append(e.Subsets[0].Ports, corev1.EndpointPort{Name: "b", Port: 9090, Protocol: corev1.ProtocolTCP})
		}, path: "subsets[0].ports[0].name", typ: field.ErrorTypeRequired},
		{name: "subsets may change", update: true, mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "10.244.1.6" }},
	})
}

func TestValidateEndpointSlice(t *testing.T) {
	runCases(t, testEndpointSlice, []tcase[*discoveryv1.EndpointSlice]{
		{name: "valid"},
		{name: "addressType required", mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = "" }, path: "addressType", typ: field.ErrorTypeRequired},
		{name: "addressType unsupported", mutate: func(s *discoveryv1.EndpointSlice) { s.AddressType = "IP" }, path: "addressType", typ: field.ErrorTypeNotSupported},
		{name: "IPv6 address in IPv4 slice", mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses[0] = "fd00::5" }, path: "endpoints[0].addresses[0]", typ: field.ErrorTypeInvalid},
		{name: "IPv6 slice", mutate: func(s *discoveryv1.EndpointSlice) {
			s.AddressType, s.Endpoints[0].Addresses[0] = discoveryv1.AddressTypeIPv6, "fd00::5"
		}},
		{name: "FQDN slice", mutate: func(s *discoveryv1.EndpointSlice) {
			s.AddressType, s.Endpoints[0].Addresses[0] = discoveryv1.AddressTypeFQDN, "db.example.com"
		}},
		{name: "FQDN invalid", mutate: func(s *discoveryv1.EndpointSlice) {
			s.AddressType, s.Endpoints[0].Addresses[0] = discoveryv1.AddressTypeFQDN, "db"
		}, path: "endpoints[0].addresses[0]", typ: field.ErrorTypeInvalid},
		{name: "addresses required", mutate: func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = nil }, path: "endpoints[0].addresses", typ: field.ErrorTypeRequired},
		{name: "port protocol unsupported", mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Protocol = ptrTo(corev1.Protocol("QUIC")) }, path: "ports[0].protocol", typ: field.ErrorTypeNotSupported},
		{name: "port names unique", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Ports = append(s.Ports, s.Ports[0])
		}, path: "ports[1].name", typ: field.ErrorTypeDuplicate},
		{name: "port name not a label", mutate: func(s *discoveryv1.EndpointSlice) { s.Ports[0].Name = ptrTo("HTTP") }, path: "ports[0].name", typ: field.ErrorTypeInvalid},
		{name: "too many endpoints", mutate: func(s *discoveryv1.EndpointSlice) {
			s.Endpoints = make([]discoveryv1.Endpoint, maxSliceEndpoints+1)
		}, path: "endpoints", typ: field.ErrorTypeTooMany},
		{name: "addressType immutable", update: true, mutate: func(s *discoveryv1.EndpointSlice) {
			s.AddressType, s.Endpoints[0].Addresses[0] = discoveryv1.AddressTypeIPv6, "fd00::5"
		}, path: "addressType", typ: field.ErrorTypeInvalid},
	})
}

func TestEndpointDefaults(t *testing.T) {
	e := testEndpoints()
	Default(e)
	if e.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Fatalf("endpoints port protocol not defaulted")
	}
	s := testEndpointSlice()
	s.Ports = append(s.Ports, discoveryv1.EndpointPort{Port: ptrTo(int32(9090))})
	Default(s)
	if *s.Ports[0].Protocol != corev1.ProtocolTCP || s.Ports[1].Name == nil || *s.Ports[1].Name != "" {
		t.Fatalf("slice ports not defaulted: %+v", s.Ports)
	}
}
