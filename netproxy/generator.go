package netproxy

import "slices"

// Generator is Generate with a memory: it keeps the chains and sets it
// made for each service-port and reuses them, pointer for pointer, while
// the service-port is unchanged. Its output equals Generate's; what it
// saves is the work (a 1,000-Service table regenerates in milliseconds),
// and Diff skips identical pointers. A Generator is not safe for
// concurrent use; the Proxier's sync loop owns one.
type Generator struct {
	node  NodeInfo
	cache map[string]*fragment
}

// fragment is what one service-port adds to the table.
type fragment struct {
	sp     ServicePort
	chains []*Chain
	sets   []*Set
	elems  []fixedElem // elements of the shared maps
}

type fixedElem struct {
	set string
	key Key
	v   Verdict
}

// NewGenerator returns a Generator for the node.
func NewGenerator(node NodeInfo) *Generator {
	return &Generator{node: node, cache: map[string]*fragment{}}
}

func sameServicePort(a, b *ServicePort) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name && a.PortName == b.PortName &&
		a.Proto == b.Proto && a.ClusterIP == b.ClusterIP && a.Port == b.Port && a.NodePort == b.NodePort &&
		a.ExternalLocal == b.ExternalLocal && a.InternalLocal == b.InternalLocal && a.Affinity == b.Affinity &&
		slices.Equal(a.Endpoints, b.Endpoints)
}

// Generate returns the model for ports (see the package function).
func (g *Generator) Generate(ports []ServicePort) *Model {
	m := NewModel()
	addFixed(m)
	next := make(map[string]*fragment, len(ports))
	for i := range ports {
		sp := &ports[i]
		id := sp.id()
		f := g.cache[id]
		if f == nil || !sameServicePort(&f.sp, sp) {
			f = g.fragment(sp)
		}
		next[id] = f
		for _, c := range f.chains {
			m.Chains[c.Name] = c
		}
		for _, s := range f.sets {
			m.Sets[s.Name] = s
		}
		for _, e := range f.elems {
			m.Sets[e.set].Elems[e.key] = e.v
		}
	}
	g.cache = next
	return m
}

// fragment generates one service-port into a scratch model and records
// what it added.
func (g *Generator) fragment(sp *ServicePort) *fragment {
	scratch := NewModel()
	for _, name := range []string{mapServiceIPs, mapNodePorts, mapNoEndpointSvcs, mapNoEndpointNodePts} {
		scratch.vmap(name, 0)
	}
	addServicePort(scratch, sp, g.node)
	f := &fragment{sp: *sp}
	f.sp.Endpoints = slices.Clone(sp.Endpoints)
	for _, name := range sortedNames(scratch.Chains) {
		f.chains = append(f.chains, scratch.Chains[name])
	}
	for _, name := range sortedNames(scratch.Sets) {
		s := scratch.Sets[name]
		switch name {
		case mapServiceIPs, mapNodePorts, mapNoEndpointSvcs, mapNoEndpointNodePts:
			for k, v := range s.Elems {
				f.elems = append(f.elems, fixedElem{set: name, key: k, v: v})
			}
		default:
			f.sets = append(f.sets, s)
		}
	}
	return f
}
