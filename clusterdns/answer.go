package clusterdns

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// resolver answers questions about the cluster domain from a Source. It
// holds no state of its own, so one serves every query concurrently.
type resolver struct {
	src    Source
	domain string // lower case, fully qualified: "cluster.local."
	ttl    uint32
}

// result is a resolver's answer; forward means the name is not the
// cluster's and goes upstream.
type result struct {
	forward bool
	rcode   int
	answer  []dns.RR
	extra   []dns.RR
}

func (r *resolver) soa() dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: r.domain, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: r.ttl},
		Ns:      "ns.dns." + r.domain,
		Mbox:    "hostmaster." + r.domain,
		Serial:  1,
		Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: r.ttl,
	}
}

var (
	nxdomain = result{rcode: dns.RcodeNameError}
	nodata   = result{rcode: dns.RcodeSuccess}
)

// answer resolves one question.
func (r *resolver) answer(q dns.Question) result {
	name := strings.ToLower(q.Name)
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return result{forward: true}
	}
	if strings.HasSuffix(name, ".in-addr.arpa.") || strings.HasSuffix(name, ".ip6.arpa.") {
		return r.ptr(q, name)
	}
	if name != r.domain && !strings.HasSuffix(name, "."+r.domain) {
		return result{forward: true}
	}
	if name == r.domain {
		if q.Qtype == dns.TypeSOA {
			return result{answer: []dns.RR{r.soa()}}
		}
		return nodata
	}
	labels := dns.SplitDomainName(strings.TrimSuffix(name, "."+r.domain))
	zone := labels[len(labels)-1]
	labels = labels[:len(labels)-1]
	switch {
	case zone == "svc" && len(labels) <= 1:
		return nodata // svc.<domain> and <ns>.svc.<domain> are empty non-terminals
	case zone == "svc" && len(labels) == 2:
		return r.service(q, name, labels[1], labels[0])
	case zone == "svc" && len(labels) == 3:
		return r.endpoint(q, name, labels[2], labels[1], labels[0])
	case zone == "svc" && len(labels) == 4 && strings.HasPrefix(labels[0], "_") && strings.HasPrefix(labels[1], "_"):
		return r.srvPort(q, name, labels[3], labels[2], labels[0][1:], labels[1][1:])
	case zone == "pod" && len(labels) == 2:
		ip, ok := undash(labels[0])
		if !ok {
			return nxdomain
		}
		return r.addrs(q, name, []netip.Addr{ip})
	}
	return nxdomain
}

func (r *resolver) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: r.ttl}
}

// addrs answers A or AAAA (and ANY) with the addresses of the family asked.
func (r *resolver) addrs(q dns.Question, name string, ips []netip.Addr) result {
	var res result
	for _, ip := range ips {
		switch {
		case ip.Is4() && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY):
			res.answer = append(res.answer, &dns.A{Hdr: r.hdr(name, dns.TypeA), A: ip.AsSlice()})
		case ip.Is6() && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY):
			res.answer = append(res.answer, &dns.AAAA{Hdr: r.hdr(name, dns.TypeAAAA), AAAA: ip.AsSlice()})
		}
	}
	return res
}

func headless(s *v1.Service) bool { return s.Spec.ClusterIP == v1.ClusterIPNone }

func clusterIPs(s *v1.Service) []netip.Addr {
	var out []netip.Addr
	ips := s.Spec.ClusterIPs
	if len(ips) == 0 {
		ips = []string{s.Spec.ClusterIP}
	}
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// endpointAddr is one endpoint address that DNS publishes.
type endpointAddr struct {
	ip       netip.Addr
	hostname string // the endpoint's hostname, or the dashed address
	ports    []discoveryv1.EndpointPort
}

// endpoints returns the published addresses of a Service: ready ones,
// or all with publishNotReadyAddresses.
func (r *resolver) endpoints(svc *v1.Service) []endpointAddr {
	var out []endpointAddr
	seen := map[netip.Addr]bool{}
	for _, s := range r.src.Slices(svc.Namespace, svc.Name) {
		for _, e := range s.Endpoints {
			if !svc.Spec.PublishNotReadyAddresses && e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil || seen[ip] {
					continue
				}
				seen[ip] = true
				h := dash(ip)
				if e.Hostname != nil && *e.Hostname != "" {
					h = strings.ToLower(*e.Hostname)
				}
				out = append(out, endpointAddr{ip: ip, hostname: h, ports: s.Ports})
			}
		}
	}
	return out
}

func (r *resolver) svcName(svc *v1.Service) string {
	return svc.Name + "." + svc.Namespace + ".svc." + r.domain
}

func (r *resolver) service(q dns.Question, name, ns, svcName string) result {
	svc := r.src.Service(ns, svcName)
	if svc == nil {
		return nxdomain
	}
	if svc.Spec.Type == v1.ServiceTypeExternalName {
		target := dns.Fqdn(strings.ToLower(svc.Spec.ExternalName))
		return result{answer: []dns.RR{&dns.CNAME{Hdr: r.hdr(name, dns.TypeCNAME), Target: target}}}
	}
	if q.Qtype == dns.TypeSRV {
		var res result
		for _, p := range svc.Spec.Ports {
			if p.Name != "" {
				res = r.appendSRV(res, svc, p)
			}
		}
		for _, rr := range res.answer {
			rr.Header().Name = name
		}
		return res
	}
	if !headless(svc) {
		return r.addrs(q, name, clusterIPs(svc))
	}
	var ips []netip.Addr
	for _, e := range r.endpoints(svc) {
		ips = append(ips, e.ip)
	}
	return r.addrs(q, name, ips)
}

func (r *resolver) endpoint(q dns.Question, name, ns, svcName, host string) result {
	svc := r.src.Service(ns, svcName)
	if svc == nil || !headless(svc) {
		return nxdomain
	}
	var ips []netip.Addr
	for _, e := range r.endpoints(svc) {
		if e.hostname == host {
			ips = append(ips, e.ip)
		}
	}
	if len(ips) == 0 {
		return nxdomain
	}
	return r.addrs(q, name, ips)
}

func (r *resolver) srvPort(q dns.Question, name, ns, svcName, port, proto string) result {
	svc := r.src.Service(ns, svcName)
	if svc == nil {
		return nxdomain
	}
	for _, p := range svc.Spec.Ports {
		pp := strings.ToLower(string(p.Protocol))
		if pp == "" {
			pp = "tcp"
		}
		if strings.ToLower(p.Name) != port || pp != proto {
			continue
		}
		if q.Qtype != dns.TypeSRV && q.Qtype != dns.TypeANY {
			return nodata
		}
		res := r.appendSRV(result{}, svc, p)
		for _, rr := range res.answer {
			rr.Header().Name = name
		}
		return res
	}
	return nxdomain
}

// appendSRV adds the SRV records of one named port: the Service name for
// a ClusterIP Service, each endpoint's name for a headless one, with
// their addresses as additional records.
func (r *resolver) appendSRV(res result, svc *v1.Service, p v1.ServicePort) result {
	if !headless(svc) {
		target := r.svcName(svc)
		res.answer = append(res.answer, &dns.SRV{Hdr: r.hdr(target, dns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(p.Port), Target: target})
		for _, ip := range clusterIPs(svc) {
			res.extra = append(res.extra, r.addrs(dns.Question{Qtype: dns.TypeANY}, target, []netip.Addr{ip}).answer...)
		}
		return res
	}
	for _, e := range r.endpoints(svc) {
		for _, ep := range e.ports {
			if ep.Name == nil || *ep.Name != p.Name || ep.Port == nil {
				continue
			}
			target := e.hostname + "." + r.svcName(svc)
			res.answer = append(res.answer, &dns.SRV{Hdr: r.hdr(target, dns.TypeSRV), Weight: 100, Port: uint16(*ep.Port), Target: target})
			res.extra = append(res.extra, r.addrs(dns.Question{Qtype: dns.TypeANY}, target, []netip.Addr{e.ip}).answer...)
		}
	}
	return res
}

// ptr answers reverse lookups of ClusterIPs and endpoint addresses; an
// address the cluster does not know is forwarded.
func (r *resolver) ptr(q dns.Question, name string) result {
	ip, ok := reverseAddr(name)
	if !ok || (q.Qtype != dns.TypePTR && q.Qtype != dns.TypeANY) {
		return result{forward: true}
	}
	var res result
	add := func(target string) {
		res.answer = append(res.answer, &dns.PTR{Hdr: r.hdr(name, dns.TypePTR), Ptr: target})
	}
	for _, svc := range r.src.ServicesByIP(ip) {
		add(r.svcName(svc))
	}
	for _, s := range r.src.SlicesByIP(ip) {
		svc := r.src.Service(s.Namespace, s.Labels[discoveryv1.LabelServiceName])
		if svc == nil || !headless(svc) {
			continue
		}
		for _, e := range r.endpoints(svc) {
			if e.ip == ip {
				add(e.hostname + "." + r.svcName(svc))
			}
		}
	}
	if len(res.answer) == 0 {
		return result{forward: true}
	}
	return res
}

// dash writes an address as a DNS label: 10-244-1-5.
func dash(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.StringExpanded(), ":", "-")
}

func undash(label string) (netip.Addr, bool) {
	s := strings.ReplaceAll(label, "-", ".")
	if strings.Count(label, "-") > 3 {
		s = strings.ReplaceAll(label, "-", ":")
	}
	ip, err := netip.ParseAddr(s)
	return ip, err == nil
}

// reverseAddr parses d.c.b.a.in-addr.arpa. and the ip6.arpa nibble form.
func reverseAddr(name string) (netip.Addr, bool) {
	if v4, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		parts := strings.Split(v4, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, p := range parts {
			n, err := strconv.ParseUint(p, 10, 8)
			if err != nil || (len(p) > 1 && p[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	v6, ok := strings.CutSuffix(name, ".ip6.arpa.")
	if !ok {
		return netip.Addr{}, false
	}
	nibbles := strings.Split(v6, ".")
	if len(nibbles) != 32 {
		return netip.Addr{}, false
	}
	var b [16]byte
	for i, n := range nibbles {
		v, err := strconv.ParseUint(n, 16, 8)
		if err != nil || len(n) != 1 {
			return netip.Addr{}, false
		}
		pos := 31 - i
		b[pos/2] |= byte(v) << (4 * (1 - pos%2))
	}
	return netip.AddrFrom16(b), true
}
