package netproxy

import (
	"slices"
	"strings"
)

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

// sameRules reports whether two chains hold the same rules: statement by
// statement when both were generated (statements are comparable values,
// so this costs no formatting), by hash when one was read from the kernel.
func sameRules(a, b *Chain) bool {
	if a == b {
		return true
	}
	if a.Observed == nil && b.Observed == nil {
		return slices.EqualFunc(a.Rules, b.Rules, func(x, y Rule) bool { return slices.Equal(x, y) })
	}
	return slices.Equal(a.hashes(), b.hashes())
}

// Diff returns the plan that turns have into want. have may come from
// the kernel (chains carry Observed hashes) or be a Model the proxy
// applied before. Dynamic sets' elements belong to the data path and are
// never compared.
func Diff(have, want *Model) *Plan {
	p := &Plan{DelElems: map[string][]Key{}, AddElems: map[string]map[Key]Verdict{}}
	for name, w := range want.Chains {
		h, ok := have.Chains[name]
		switch {
		case !ok:
			p.NewChains = append(p.NewChains, w)
		case !sameRules(h, w):
			p.Rewrite = append(p.Rewrite, w)
		}
	}
	for name := range have.Chains {
		if _, ok := want.Chains[name]; !ok {
			p.DelChains = append(p.DelChains, name)
		}
	}
	for name, w := range want.Sets {
		h, ok := have.Sets[name]
		if !ok {
			p.NewSets = append(p.NewSets, w)
			continue
		}
		if w.Dynamic || h == w {
			continue
		}
		for k, hv := range h.Elems {
			if v, ok := w.Elems[k]; !ok || v != hv {
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
	for name := range have.Sets {
		if _, ok := want.Sets[name]; !ok {
			p.DelSets = append(p.DelSets, name)
		}
	}
	// Sorted so that a plan, and the order it is applied in, is
	// deterministic.
	byName := func(a, b *Chain) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(p.NewChains, byName)
	slices.SortFunc(p.Rewrite, byName)
	slices.SortFunc(p.NewSets, func(a, b *Set) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(p.DelChains)
	slices.Sort(p.DelSets)
	for name, keys := range p.DelElems {
		p.DelElems[name] = (&Set{Elems: keysOnly(keys)}).sortedKeys()
	}
	return p
}

func keysOnly(keys []Key) map[Key]Verdict {
	m := make(map[Key]Verdict, len(keys))
	for _, k := range keys {
		m[k] = Verdict{}
	}
	return m
}
