package clusterdns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// Limits the kubelet applies to a pod's resolv.conf (glibc's own limits
// as Kubernetes relaxed them).
const (
	maxNameservers = 3
	maxSearch      = 32
	maxSearchChars = 2048
	clusterNdots   = "ndots:5"
)

// resolvFile is the part of a resolv.conf ResolvConf reads.
type resolvFile struct {
	nameservers, search, options []string
}

func parseResolv(b []byte) resolvFile {
	var r resolvFile
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				r.nameservers = append(r.nameservers, f[1])
			}
		case "search", "domain":
			r.search = f[1:] // the last search or domain line wins, as in glibc
		case "options":
			r.options = append(r.options, f[1:]...)
		}
	}
	return r
}

// ResolvConf returns the /etc/resolv.conf content of pod as the kubelet
// writes it. clusterDNS are the cluster DNS server addresses, domain the
// cluster domain, hostResolv the node's own resolv.conf. It honours
// spec.dnsPolicy (ClusterFirst, the default; ClusterFirstWithHostNet;
// Default; None) and spec.dnsConfig, whose nameservers and searches are
// appended and whose options override by name. A ClusterFirst pod on the
// host network, or any ClusterFirst pod when clusterDNS is empty, gets
// the node's configuration, as the kubelet does.
func ResolvConf(pod *v1.Pod, clusterDNS []string, domain string, hostResolv []byte) (string, error) {
	if pod == nil {
		return "", errors.New("resolv.conf: pod is nil")
	}
	if domain == "" {
		domain = DefaultDomain
	}
	domain = strings.TrimSuffix(domain, ".")
	host := parseResolv(hostResolv)
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = v1.DNSClusterFirst
	}
	var r resolvFile
	switch policy {
	case v1.DNSClusterFirstWithHostNet, v1.DNSClusterFirst:
		if len(clusterDNS) == 0 || (policy == v1.DNSClusterFirst && pod.Spec.HostNetwork) {
			r = host
			break
		}
		r.nameservers = slices.Clone(clusterDNS)
		r.search = append([]string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}, host.search...)
		r.options = []string{clusterNdots}
	case v1.DNSDefault:
		r = host
	case v1.DNSNone:
		if pod.Spec.DNSConfig == nil {
			return "", errors.New("resolv.conf: spec.dnsConfig is required with spec.dnsPolicy None")
		}
	default:
		return "", fmt.Errorf("resolv.conf: spec.dnsPolicy %q is not supported", policy)
	}
	if c := pod.Spec.DNSConfig; c != nil {
		r.nameservers = appendNew(r.nameservers, c.Nameservers...)
		r.search = appendNew(r.search, c.Searches...)
		r.options = mergeOptions(r.options, c.Options)
	}
	if len(r.nameservers) > maxNameservers {
		r.nameservers = r.nameservers[:maxNameservers]
	}
	r.search = limitSearch(r.search)

	var b strings.Builder
	for _, ns := range r.nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(r.search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(r.search, " "))
	}
	if len(r.options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(r.options, " "))
	}
	return b.String(), nil
}

func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		a = strings.TrimSuffix(a, ".")
		if a != "" && !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// mergeOptions overrides options by name: "ndots:2" from dnsConfig
// replaces the cluster's "ndots:5".
func mergeOptions(have []string, add []v1.PodDNSConfigOption) []string {
	out := slices.Clone(have)
	for _, o := range add {
		v := o.Name
		if o.Value != nil {
			v += ":" + *o.Value
		}
		i := slices.IndexFunc(out, func(s string) bool { n, _, _ := strings.Cut(s, ":"); return n == o.Name })
		if i >= 0 {
			out[i] = v
		} else {
			out = append(out, v)
		}
	}
	return out
}

func limitSearch(s []string) []string {
	if len(s) > maxSearch {
		s = s[:maxSearch]
	}
	for len(s) > 0 && len(strings.Join(s, " ")) > maxSearchChars {
		s = s[:len(s)-1]
	}
	return s
}
