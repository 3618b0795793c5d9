// Package netproxy is Skiff's service proxy: it watches Services and
// EndpointSlices through client-go informers and programs the node's
// data plane with nftables, in a table of its own ("skiff", family ip),
// never touching any other table.
//
// The work is split in three layers, each testable on its own:
//
//   - Translate (input.go) turns API objects into ServicePorts: plain
//     values with the ready endpoints of one port of one Service.
//   - Generate (generate.go) is a pure function from ServicePorts and the
//     node's settings to a Model: the chains, rules, verdict maps and
//     affinity sets the table should hold. Golden files in testdata pin it.
//   - Diff (diff.go) compares two Models and the nft layer (nft.go)
//     applies only the difference, so an endpoint change rewrites the
//     elements and chains of one Service and never flushes the table.
//
// The layout follows kube-proxy's nftables mode: ClusterIP and NodePort
// destinations are found with one verdict-map lookup, each service-port
// chooses an endpoint with "numgen random mod N" through a per-service
// verdict map, sessionAffinity ClientIP uses one dynamic timeout set per
// endpoint, and packets that need source NAT carry a mark that the
// postrouting chain masquerades. Services without endpoints are rejected
// in the filter hooks (TCP reset, otherwise ICMP port unreachable).
//
// Only IPv4 is programmed; IPv6 ClusterIPs are ignored.
package netproxy
