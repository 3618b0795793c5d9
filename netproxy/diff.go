package netproxy

import "slices"

// Plan is the difference between the table's content and the wanted
// Model, in the order the nft layer applies it. Every part is keyed by
// name so an endpoint change yields a Plan that mentions only the chains
// and elements of the Services it touched.
type Plan struct {
	NewChains []*Chain // created empty, then written
	NewSets   []*Set   // created with their elements
	DelElems  map[string][]Key
	AddElems  map[string]map[Key]Verdict
	// Rewrite are existing chains whose rules differ: flushed and written.
	Rewrite []*Chain
	// DelChains and DelSets are no longer wanted.
	DelChains []string
	DelSets   []string
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return len(p.NewChains) == 0 && len(p.NewSets) == 0 && len(p.DelElems) == 0 &&
		len(p.AddElems) == 0 && len(p.Rewrite) == 0 && len(p.DelChains) == 0 && len(p.DelSets) == 0
}

// hashes returns the rule hashes of c: the ones read from the kernel, or
// computed from its rules.
func (c *Chain) hashes() []string {
	if c.Observed != nil {
		return c.Observed
	}
	out := make([]string, len(c.Rules))
	for i, r := range c.Rules {
		out[i] = r.Hash()
	}
	return out
}

// Diff returns the plan that turns have into want. have may come from
// the kernel (chains carry Observed hashes) or be a Model the proxy
// applied before. Dynamic sets' elements belong to the data path and are
// never compared.
func Diff(have, want *Model) *Plan {
	p := &Plan{DelElems: map[string][]Key{}, AddElems: map[string]map[Key]Verdict{}}
	for _, name := range sortedNames(want.Chains) {
		w := want.Chains[name]
		h, ok := have.Chains[name]
		switch {
		case !ok:
			p.NewChains = append(p.NewChains, w)
		case !slices.Equal(h.hashes(), w.hashes()):
			p.Rewrite = append(p.Rewrite, w)
		}
	}
	for _, name := range sortedNames(have.Chains) {
		if _, ok := want.Chains[name]; !ok {
			p.DelChains = append(p.DelChains, name)
		}
	}
	for _, name := range sortedNames(want.Sets) {
		w := want.Sets[name]
		h, ok := have.Sets[name]
		if !ok {
			p.NewSets = append(p.NewSets, w)
			continue
		}
		if w.Dynamic {
			continue
		}
		for _, k := range h.sortedKeys() {
			if v, ok := w.Elems[k]; !ok || v != h.Elems[k] {
				p.DelElems[name] = append(p.DelElems[name], k)
			}
		}
		for k, v := range w.Elems {
			if hv, ok := h.Elems[k]; !ok || hv != v {
				if p.AddElems[name] == nil {
					p.AddElems[name] = map[Key]Verdict{}
				}
				p.AddElems[name][k] = v
			}
		}
	}
	for _, name := range sortedNames(have.Sets) {
		if _, ok := want.Sets[name]; !ok {
			p.DelSets = append(p.DelSets, name)
		}
	}
	return p
}
