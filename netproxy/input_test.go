package netproxy

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

func TestTranslateEndpoints(t *testing.T) {
	cond := func(ready, serving, terminating bool) discoveryv1.EndpointConditions {
		return discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(serving), Terminating: ptr.To(terminating)}
	}
	ep := func(ip string, c discoveryv1.EndpointConditions) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{ip}, NodeName: ptr.To("node-a"), Conditions: c}
	}
	cases := []struct {
		name string
		eps  []discoveryv1.Endpoint
		want string
	}{
		{"ready only", []discoveryv1.Endpoint{ep("10.244.0.1", cond(true, true, false)), ep("10.244.0.2", cond(false, true, true))}, "[10.244.0.1:8080]"},
		{"unset ready counts as ready", []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.3"}}}, "[10.244.0.3:8080]"},
		{"terminating but serving when none is ready", []discoveryv1.Endpoint{ep("10.244.0.2", cond(false, true, true)), ep("10.244.0.4", cond(false, false, true))}, "[10.244.0.2:8080]"},
		{"not ready, not terminating", []discoveryv1.Endpoint{ep("10.244.0.5", cond(false, false, false))}, "[]"},
		{"IPv6 and garbage ignored", []discoveryv1.Endpoint{ep("fd00::1", cond(true, true, false)), ep("nope", cond(true, true, false))}, "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sl := slice("default", "web", "web-1", 8080)
			sl.Endpoints = tc.eps
			ports := Translate([]*v1.Service{svc("default", "web", "10.96.0.10")}, []*discoveryv1.EndpointSlice{sl}, "node-a")
			var got []string
			for _, e := range ports[0].Endpoints {
				got = append(got, fmt.Sprintf("%s:%d", e.Addr, e.Port))
			}
			if s := fmt.Sprint(got); s != tc.want && !(tc.want == "[]" && len(got) == 0) {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}
