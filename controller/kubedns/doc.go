// Package kubedns keeps the cluster DNS reachable at one virtual IP: the
// Service kube-system/kube-dns, whose ClusterIP is the servers'
// cluster_dns, and its EndpointSlices, which name every node's own DNS
// server (the gateway of the node's pod CIDR, see clusterdns.NodeAddr)
// with the node's name.
//
// The Service has internalTrafficPolicy Local, so each node's netproxy
// sends the queries of that node's pods to that node's DNS server only:
// DNS keeps working for a node whose server is up whatever happens to the
// others, and a query never crosses the network. The Service has no
// selector, so the endpoints controller leaves its slices alone; they
// carry the managed-by label [ManagedBy] and the Service as their owner,
// and this controller alone writes them. It runs on the leader (a leader
// component) and is level-triggered: every change of a Node, the Service
// or its slices queues one key, and a sync re-reads them all.
//
// A node's endpoint is always ready. Readiness of a remote endpoint is
// never consulted under the Local policy, and the local server's state is
// known only to its own node: marking the endpoint of a node that lost
// contact with the control plane not ready would cut the DNS of its pods
// while its server still answers.
package kubedns
