package netproxy

import (
	"fmt"
	"net/netip"
)

// TableName is the nftables table the proxy owns (family ip).
const TableName = "skiff"

// MasqueradeMark is the packet-mark bit that asks postrouting to
// masquerade a packet (kube-proxy uses the same bit).
const MasqueradeMark uint32 = 0x4000

// Names of the fixed chains and maps.
const (
	chainServices      = "services"
	chainNodePorts     = "nodeports"
	chainMasquerading  = "masquerading"
	chainMarkMasq      = "mark-for-masquerade"
	chainReject        = "reject-chain"
	chainSvcCheck      = "service-endpoints-check"
	chainNodePortCheck = "nodeport-endpoints-check"

	mapServiceIPs        = "service-ips"
	mapNodePorts         = "service-nodeports"
	mapNoEndpointSvcs    = "no-endpoint-services"
	mapNoEndpointNodePts = "no-endpoint-nodeports"
)

// NodeInfo is what rule generation needs to know about this node.
type NodeInfo struct {
	// PodCIDR is the cluster's pod CIDR (all nodes' pod CIDRs together).
	// Traffic to a ClusterIP from outside it is masqueraded; if it is not
	// valid, all ClusterIP traffic is.
	PodCIDR netip.Prefix
}

// Generate returns the table content that serves ports on node. It is a
// pure function: the same input gives the same Model.
func Generate(ports []ServicePort, node NodeInfo) *Model {
	return NewGenerator(node).Generate(ports)
}

func goTo(c string) Verdict { return Verdict{Kind: Goto, Chain: c} }
func jump(c string) Verdict { return Verdict{Kind: Jump, Chain: c} }

func (m *Model) chain(name string, base *Hook, rules ...Rule) {
	m.Chains[name] = &Chain{Name: name, Base: base, Rules: rules}
}

func (m *Model) vmap(name string, key KeyKind) *Set {
	s := &Set{Name: name, Key: key, Map: true, Elems: map[Key]Verdict{}}
	m.Sets[name] = s
	return s
}

func addFixed(m *Model) {
	newConn := MatchNew{}
	m.chain("nat-prerouting", &Hook{"nat", "prerouting", -100}, Rule{Do{jump(chainServices)}})
	m.chain("nat-output", &Hook{"nat", "output", -100}, Rule{Do{jump(chainServices)}})
	m.chain("nat-postrouting", &Hook{"nat", "postrouting", 100}, Rule{Do{jump(chainMasquerading)}})
	m.chain("filter-input", &Hook{"filter", "input", -110},
		Rule{newConn, Do{jump(chainNodePortCheck)}},
		Rule{newConn, Do{jump(chainSvcCheck)}})
	m.chain("filter-forward", &Hook{"filter", "forward", -110}, Rule{newConn, Do{jump(chainSvcCheck)}})
	m.chain("filter-output", &Hook{"filter", "output", -110}, Rule{newConn, Do{jump(chainSvcCheck)}})
	m.chain(chainSvcCheck, nil, Rule{Vmap{Key: ByDestination, Map: mapNoEndpointSvcs}})
	m.chain(chainNodePortCheck, nil, Rule{Vmap{Key: ByProtoPort, Map: mapNoEndpointNodePts}})
	m.chain(chainServices, nil,
		Rule{Vmap{Key: ByDestination, Map: mapServiceIPs}},
		Rule{MatchPrefix{Field: Daddr, Not: true, Prefix: netip.MustParsePrefix("127.0.0.0/8")}, MatchLocal{Field: Daddr}, Do{jump(chainNodePorts)}})
	m.chain(chainNodePorts, nil, Rule{Vmap{Key: ByProtoPort, Map: mapNodePorts}})
	m.chain(chainMasquerading, nil,
		Rule{MatchMarkClear{Bits: MasqueradeMark}, Do{Verdict{Kind: Return}}},
		Rule{SetMark{Bits: MasqueradeMark, Xor: true}},
		Rule{Masquerade{}})
	m.chain(chainMarkMasq, nil, Rule{SetMark{Bits: MasqueradeMark}})
	m.chain(chainReject, nil,
		Rule{MatchProto{Proto: TCP}, Reject{TCPReset: true}},
		Rule{Reject{}})
	m.vmap(mapServiceIPs, KeyAddrProtoPort)
	m.vmap(mapNodePorts, KeyProtoPort)
	m.vmap(mapNoEndpointSvcs, KeyAddrProtoPort)
	m.vmap(mapNoEndpointNodePts, KeyProtoPort)
}

// Chain names of a service-port: svc is the ClusterIP entry (masquerade
// rule, then the internal endpoints), cluster chooses among all endpoints
// when svc does not (internalTrafficPolicy Local), local among this
// node's endpoints (externalTrafficPolicy Local), ext is the NodePort
// entry. Each choosing chain has a verdict map of the same name.
func svcChain(id string) string     { return "svc-" + id }
func clusterChain(id string) string { return "cluster-" + id }
func localChain(id string) string   { return "local-" + id }
func extChain(id string) string     { return "ext-" + id }
func epChain(id string, e Endpoint) string {
	return fmt.Sprintf("ep-%s__%s/%d", id, e.Addr, e.Port)
}

func addServicePort(m *Model, sp *ServicePort, node NodeInfo) {
	id := sp.id()
	var local []Endpoint
	for _, e := range sp.Endpoints {
		if e.Local {
			local = append(local, e)
		}
	}
	internal := sp.Endpoints
	if sp.InternalLocal {
		internal = local
	}
	reject := goTo(chainReject)

	dst := Key{Addr: sp.ClusterIP, Proto: sp.Proto, Port: sp.Port}
	if len(internal) == 0 {
		m.Sets[mapNoEndpointSvcs].Elems[dst] = reject
	} else {
		masq := Rule{Do{jump(chainMarkMasq)}}
		if node.PodCIDR.IsValid() {
			masq = Rule{MatchPrefix{Field: Saddr, Not: true, Prefix: node.PodCIDR}, Do{jump(chainMarkMasq)}}
		}
		addChooser(m, sp, svcChain(id), internal, masq)
		m.Sets[mapServiceIPs].Elems[dst] = goTo(svcChain(id))
	}

	if sp.NodePort == 0 {
		return
	}
	np := Key{Proto: sp.Proto, Port: sp.NodePort}
	if len(sp.Endpoints) == 0 {
		m.Sets[mapNoEndpointNodePts].Elems[np] = reject
		return
	}
	cluster := svcChain(id)
	if sp.InternalLocal {
		cluster = clusterChain(id)
		addChooser(m, sp, cluster, sp.Endpoints)
	}
	var rules []Rule
	if !sp.ExternalLocal {
		rules = []Rule{{Do{jump(chainMarkMasq)}}, {Do{goTo(cluster)}}}
	} else {
		// Only traffic from outside keeps its source and goes to this
		// node's endpoints; the node's own and pods' traffic may go
		// anywhere, as in kube-proxy.
		if node.PodCIDR.IsValid() {
			rules = append(rules, Rule{MatchPrefix{Field: Saddr, Prefix: node.PodCIDR}, Do{goTo(cluster)}})
		}
		rules = append(rules,
			Rule{MatchLocal{Field: Saddr}, Do{jump(chainMarkMasq)}},
			Rule{MatchLocal{Field: Saddr}, Do{goTo(cluster)}})
		if len(local) > 0 {
			addChooser(m, sp, localChain(id), local)
			rules = append(rules, Rule{Do{goTo(localChain(id))}})
		} else {
			rules = append(rules, Rule{Do{Verdict{Kind: Drop}}})
		}
	}
	m.chain(extChain(id), nil, rules...)
	m.Sets[mapNodePorts].Elems[np] = goTo(extChain(id))
}

// addChooser adds the chain name that picks one of eps (after the rules
// in first) with its verdict map, and the endpoint chains and affinity
// sets of eps.
func addChooser(m *Model, sp *ServicePort, name string, eps []Endpoint, first ...Rule) {
	id := sp.id()
	rules := first
	if sp.Affinity > 0 {
		for _, e := range eps {
			ec := epChain(id, e)
			rules = append(rules, Rule{MatchInSet{Field: Saddr, Set: ec}, Do{goTo(ec)}})
		}
	}
	rules = append(rules, Rule{Vmap{Key: ByRandom, Mod: uint32(len(eps)), Map: name}})
	m.chain(name, nil, rules...)
	vm := m.vmap(name, KeyIndex)
	for i, e := range eps {
		ec := epChain(id, e)
		vm.Elems[Key{Index: uint32(i)}] = goTo(ec)
		if _, done := m.Chains[ec]; done {
			continue
		}
		er := []Rule{{MatchPrefix{Field: Saddr, Prefix: netip.PrefixFrom(e.Addr, 32)}, Do{jump(chainMarkMasq)}}}
		if sp.Affinity > 0 {
			m.Sets[ec] = &Set{Name: ec, Key: KeyAddr, Dynamic: true, Timeout: sp.Affinity}
			er = append(er, Rule{UpdateSet{Set: ec, Timeout: sp.Affinity}})
		}
		er = append(er, Rule{DNAT{Proto: sp.Proto, Addr: e.Addr, Port: e.Port}})
		m.chain(ec, nil, er...)
	}
}
