package netproxy

import (
	"fmt"

	"github.com/google/nftables"
)

// apply makes the kernel table match want by applying p, the Diff of the
// table's current content and want. createTable is set when the table
// may not exist yet. Order matters inside a transaction: chains and sets
// exist before anything refers to them, and are deleted only after the
// rules and elements that referred to them.
func (t *nftTable) apply(p *Plan, want *Model, createTable bool) (Stats, error) {
	b := &batch{t: t}
	if createTable {
		t.conn.AddTable(t.table)
		if err := b.queued(1); err != nil {
			return b.stats, err
		}
	}
	for _, c := range p.NewChains {
		t.conn.AddChain(t.chain(c))
		if err := b.queued(1); err != nil {
			return b.stats, err
		}
	}
	for _, s := range p.NewSets {
		if err := t.conn.AddSet(t.set(s), nil); err != nil {
			return b.stats, fmt.Errorf("add set %s: %w", s.Name, err)
		}
		if err := b.queued(1); err != nil {
			return b.stats, err
		}
		if !s.Dynamic && len(s.Elems) > 0 {
			if err := b.elements(s, true, s.sortedKeys(), s.Elems); err != nil {
				return b.stats, err
			}
		}
	}
	for _, name := range sortedNames(p.DelElems) {
		if err := b.elements(want.Sets[name], false, p.DelElems[name], nil); err != nil {
			return b.stats, err
		}
	}
	for _, name := range sortedNames(p.AddElems) {
		add := p.AddElems[name]
		s := want.Sets[name]
		keys := (&Set{Elems: add}).sortedKeys()
		if err := b.elements(s, true, keys, add); err != nil {
			return b.stats, err
		}
	}
	for _, c := range p.Rewrite {
		t.conn.FlushChain(t.chain(c))
		if err := b.queued(1); err != nil {
			return b.stats, err
		}
		if err := b.rules(c); err != nil {
			return b.stats, err
		}
	}
	for _, name := range p.DelChains {
		t.conn.FlushChain(&nftables.Chain{Name: name, Table: t.table})
		if err := b.queued(1); err != nil {
			return b.stats, err
		}
	}
	for _, c := range p.NewChains {
		if err := b.rules(c); err != nil {
			return b.stats, err
		}
	}
	for _, name := range p.DelSets {
		t.conn.DelSet(&nftables.Set{Name: name, Table: t.table})
		if err := b.queued(1); err != nil {
			return b.stats, err
		}
	}
	for _, name := range p.DelChains {
		t.conn.DelChain(&nftables.Chain{Name: name, Table: t.table})
		if err := b.queued(1); err != nil {
			return b.stats, err
		}
	}
	return b.stats, b.flush()
}

// remove deletes the table and everything in it.
func (t *nftTable) remove() error {
	t.conn.DelTable(t.table)
	if err := t.conn.Flush(); err != nil && !isNotExist(err) {
		return fmt.Errorf("delete table %s: %w", TableName, err)
	}
	return nil
}
