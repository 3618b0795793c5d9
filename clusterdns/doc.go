// Package clusterdns is the cluster DNS server every Skiff worker runs,
// and the pure helpers the worker uses to give pods their resolver
// configuration and service environment.
//
// The server (github.com/miekg/dns, UDP and TCP) answers the Kubernetes
// DNS names from client-go informers over Services and EndpointSlices:
//
//	<svc>.<ns>.svc.<domain>                 A/AAAA of the ClusterIPs; ready endpoint IPs when headless
//	<host>.<svc>.<ns>.svc.<domain>          an endpoint of a headless Service by hostname (or a-b-c-d)
//	_<port>._<proto>.<svc>.<ns>.svc.<domain> SRV of a named port
//	<a-b-c-d>.<ns>.pod.<domain>             A of a pod address
//	<reversed>.in-addr.arpa                 PTR of ClusterIPs and endpoint addresses
//
// Names under <domain> that do not exist get NXDOMAIN with the zone's SOA;
// other names are forwarded to the node's resolvers.
//
// ResolvConf builds a pod's /etc/resolv.conf as the kubelet does (dnsPolicy,
// dnsConfig, the search path and ndots:5); ServiceEnv builds the
// <SVC>_SERVICE_HOST/_PORT and Docker-link variables.
package clusterdns
