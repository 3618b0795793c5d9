package netproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// opsPerBatch bounds one netlink transaction. A plan larger than this
// (the first sync of a big cluster) is applied as several transactions
// in dependency order; an endpoint change fits in one and is atomic.
const opsPerBatch = 20000

// elemsPerMsg bounds the elements of one set-element message.
const elemsPerMsg = 500

// Stats counts what an Apply sent to the kernel.
type Stats struct {
	Messages     int // netlink messages (one per chain, rule, set or element batch)
	Rules        int // rules written
	Elements     int // map elements added or deleted
	Transactions int // batches flushed
}

// nftTable programs the proxy's table through one netlink socket.
type nftTable struct {
	conn  *nftables.Conn
	table *nftables.Table
}

// bigBuffers lets one batch carry thousands of messages and their acks:
// as root, SO_SNDBUFFORCE/SO_RCVBUFFORCE pass the sysctl caps, as nft does.
func bigBuffers(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 16<<20)
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
	})
	return nil
}

// openTable connects to nf_tables in the network namespace netnsFD, or
// the caller's own when netnsFD < 0.
func openTable(netnsFD int) (*nftTable, error) {
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(bigBuffers)}
	if netnsFD >= 0 {
		opts = append(opts, nftables.WithNetNSFd(netnsFD))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	return &nftTable{conn: c, table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}}, nil
}

func (t *nftTable) close() error { return t.conn.CloseLasting() }

func isNotExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT)
}

// read returns the table's content as a Model whose chains carry the
// rule hashes stored in the rules' comments; exists is false when there
// is no table.
func (t *nftTable) read() (m *Model, exists bool, err error) {
	m = NewModel()
	if _, err := t.conn.ListTableOfFamily(TableName, t.table.Family); err != nil {
		if isNotExist(err) {
			return m, false, nil
		}
		return nil, false, fmt.Errorf("list table %s: %w", TableName, err)
	}
	chains, err := t.conn.ListChainsOfTableFamily(t.table.Family)
	if err != nil {
		return nil, true, fmt.Errorf("list chains: %w", err)
	}
	for _, c := range chains {
		if c.Table.Name != TableName {
			continue
		}
		rules, err := t.conn.GetRules(t.table, c)
		if err != nil {
			return nil, true, fmt.Errorf("list rules of %s: %w", c.Name, err)
		}
		hashes := make([]string, 0, len(rules))
		for _, r := range rules {
			h, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			hashes = append(hashes, h)
		}
		m.Chains[c.Name] = &Chain{Name: c.Name, Observed: hashes}
	}
	sets, err := t.conn.GetSets(t.table)
	if err != nil {
		return nil, true, fmt.Errorf("list sets: %w", err)
	}
	for _, s := range sets {
		ms := &Set{Name: s.Name, Key: kindOf(s.Name), Map: s.IsMap, Dynamic: s.Dynamic, Timeout: s.Timeout, Elems: map[Key]Verdict{}}
		m.Sets[s.Name] = ms
		if s.Dynamic || s.Anonymous {
			continue
		}
		elems, err := t.conn.GetSetElements(s)
		if err != nil {
			return nil, true, fmt.Errorf("list elements of %s: %w", s.Name, err)
		}
		for _, e := range elems {
			k, err := decodeKey(ms.Key, e.Key)
			if err != nil {
				return nil, true, fmt.Errorf("set %s: %w", s.Name, err)
			}
			ms.Elems[k] = decodeVerdict(e)
		}
	}
	return m, true, nil
}

var hooks = map[string]nftables.ChainHook{
	"prerouting": unix.NF_INET_PRE_ROUTING, "input": unix.NF_INET_LOCAL_IN, "forward": unix.NF_INET_FORWARD,
	"output": unix.NF_INET_LOCAL_OUT, "postrouting": unix.NF_INET_POST_ROUTING,
}

func (t *nftTable) chain(c *Chain) *nftables.Chain {
	nc := &nftables.Chain{Name: c.Name, Table: t.table}
	if c.Base != nil {
		h := hooks[c.Base.Hook]
		pol := nftables.ChainPolicyAccept
		nc.Type = nftables.ChainType(c.Base.Type)
		nc.Hooknum = &h
		nc.Priority = nftables.ChainPriorityRef(nftables.ChainPriority(c.Base.Priority))
		nc.Policy = &pol
	}
	return nc
}

func (t *nftTable) set(s *Set) *nftables.Set {
	ns := &nftables.Set{
		Table: t.table, Name: s.Name, KeyType: keyType(s.Key), IsMap: s.Map,
		Concatenation: s.Key == KeyAddrProtoPort || s.Key == KeyProtoPort,
	}
	if s.Map {
		ns.DataType = nftables.TypeVerdict
	}
	if s.Dynamic {
		ns.Dynamic, ns.HasTimeout, ns.Timeout = true, true, s.Timeout
	}
	return ns
}

// batch queues operations and flushes them in transactions of at most
// opsPerBatch messages.
type batch struct {
	t     *nftTable
	n     int
	stats Stats
}

func (b *batch) queued(msgs int) error {
	b.n += msgs
	b.stats.Messages += msgs
	if b.n >= opsPerBatch {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	if b.n == 0 {
		return nil
	}
	b.n = 0
	b.stats.Transactions++
	if err := b.t.conn.Flush(); err != nil {
		return fmt.Errorf("nftables transaction: %w", err)
	}
	return nil
}

func (b *batch) elements(s *Set, add bool, keys []Key, vals map[Key]Verdict) error {
	ns := b.t.set(s)
	for len(keys) > 0 {
		n := min(len(keys), elemsPerMsg)
		els := make([]nftables.SetElement, n)
		for i, k := range keys[:n] {
			els[i].Key = encodeKey(s.Key, k)
			if add && s.Map {
				els[i].VerdictData = verdictExpr(vals[k])
			}
		}
		var err error
		if add {
			err = b.t.conn.SetAddElements(ns, els)
		} else {
			err = b.t.conn.SetDeleteElements(ns, els)
		}
		if err != nil {
			return fmt.Errorf("set %s elements: %w", s.Name, err)
		}
		b.stats.Elements += n
		keys = keys[n:]
		if err := b.queued(1); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) rules(c *Chain) error {
	nc := b.t.chain(c)
	for _, r := range c.Rules {
		ex, err := compile(r)
		if err != nil {
			return err
		}
		b.t.conn.AddRule(&nftables.Rule{Table: b.t.table, Chain: nc, Exprs: ex,
			UserData: userdata.AppendString(nil, userdata.TypeComment, r.Hash())})
		b.stats.Rules++
		if err := b.queued(1); err != nil {
			return err
		}
	}
	return nil
}

// decodeVerdict reads a verdict-map element's data; the library hands it
// back as the raw nested attributes (NFTA_VERDICT_CODE, NFTA_VERDICT_CHAIN).
func decodeVerdict(e nftables.SetElement) Verdict {
	if e.VerdictData != nil {
		return verdictFromExpr(e.VerdictData)
	}
	ad, err := netlink.NewAttributeDecoder(e.Val)
	if err != nil {
		return Verdict{}
	}
	ad.ByteOrder = binary.BigEndian
	v := &expr.Verdict{}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_VERDICT_CODE:
			v.Kind = expr.VerdictKind(int32(ad.Uint32()))
		case unix.NFTA_VERDICT_CHAIN:
			v.Chain = ad.String()
		}
	}
	if ad.Err() != nil {
		return Verdict{}
	}
	return verdictFromExpr(v)
}
