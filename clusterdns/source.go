package clusterdns

import (
	"net/netip"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// Source is what answers are made from. The informer-backed source is
// the real one; tests of the answer logic may use a map.
type Source interface {
	// Service returns the Service ns/name, or nil.
	Service(ns, name string) *v1.Service
	// Slices returns the EndpointSlices of the Service ns/name.
	Slices(ns, name string) []*discoveryv1.EndpointSlice
	// ServicesByIP returns the Services with ClusterIP ip.
	ServicesByIP(ip netip.Addr) []*v1.Service
	// SlicesByIP returns the EndpointSlices holding an endpoint at ip.
	SlicesByIP(ip netip.Addr) []*discoveryv1.EndpointSlice
}

// Index names of the informer-backed source.
const (
	byService = "clusterdns/service"
	byIP      = "clusterdns/ip"
)

func sliceService(s *discoveryv1.EndpointSlice) string {
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return ""
	}
	return s.Namespace + "/" + name
}

// informerSource reads the informers' indexed caches; lookups are map
// reads, which keeps a query far under a millisecond.
type informerSource struct {
	svcs, slices cache.Indexer
}

func indexers() (svc, slice cache.Indexers) {
	svc = cache.Indexers{byIP: func(obj any) ([]string, error) {
		s, ok := obj.(*v1.Service)
		if !ok {
			return nil, nil
		}
		var out []string
		for _, ip := range append([]string{s.Spec.ClusterIP}, s.Spec.ClusterIPs...) {
			if a, err := netip.ParseAddr(ip); err == nil {
				out = append(out, a.String())
			}
		}
		return out, nil
	}}
	slice = cache.Indexers{
		byService: func(obj any) ([]string, error) {
			s, ok := obj.(*discoveryv1.EndpointSlice)
			if !ok || sliceService(s) == "" {
				return nil, nil
			}
			return []string{sliceService(s)}, nil
		},
		byIP: func(obj any) ([]string, error) {
			s, ok := obj.(*discoveryv1.EndpointSlice)
			if !ok {
				return nil, nil
			}
			var out []string
			for _, e := range s.Endpoints {
				for _, a := range e.Addresses {
					if ip, err := netip.ParseAddr(a); err == nil {
						out = append(out, ip.String())
					}
				}
			}
			return out, nil
		},
	}
	return svc, slice
}

func (s *informerSource) Service(ns, name string) *v1.Service {
	obj, ok, err := s.svcs.GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	svc, _ := obj.(*v1.Service)
	return svc
}

func (s *informerSource) Slices(ns, name string) []*discoveryv1.EndpointSlice {
	return slicesOf(s.slices.ByIndex(byService, ns+"/"+name))
}

func (s *informerSource) ServicesByIP(ip netip.Addr) []*v1.Service {
	objs, _ := s.svcs.ByIndex(byIP, ip.String())
	out := make([]*v1.Service, 0, len(objs))
	for _, o := range objs {
		if svc, ok := o.(*v1.Service); ok {
			out = append(out, svc)
		}
	}
	return out
}

func (s *informerSource) SlicesByIP(ip netip.Addr) []*discoveryv1.EndpointSlice {
	return slicesOf(s.slices.ByIndex(byIP, ip.String()))
}

func slicesOf(objs []any, err error) []*discoveryv1.EndpointSlice {
	if err != nil {
		return nil
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	return out
}
