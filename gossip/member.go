package gossip

import (
	"bytes"
	"net"
	"strconv"

	"github.com/hashicorp/memberlist"
)

// Member is another agent (or this one) as seen through gossip.
type Member struct {
	Meta  Meta
	Addr  string // Gossip address, host:port.
	Alive bool   // True for every member Members lists.
}

// delegate receives memberlist's callbacks for an Agent. memberlist calls
// the event and conflict methods while holding its node lock, so they must
// not call back into memberlist; they only update the Agent's own state.
type delegate struct {
	a *Agent
}

var (
	_ memberlist.Delegate         = (*delegate)(nil)
	_ memberlist.EventDelegate    = (*delegate)(nil)
	_ memberlist.ConflictDelegate = (*delegate)(nil)
)

// NodeMeta returns the agent's encoded meta, which Start and SetMeta keep
// within MetaMaxSize.
func (d *delegate) NodeMeta(limit int) []byte {
	d.a.mu.Lock()
	defer d.a.mu.Unlock()
	if len(d.a.metaRaw) > limit {
		return nil
	}
	return bytes.Clone(d.a.metaRaw)
}

// NotifyMsg ignores user messages; skiff sends none.
func (d *delegate) NotifyMsg([]byte) {}

// GetBroadcasts has nothing to broadcast.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState has no extra state to push.
func (d *delegate) LocalState(join bool) []byte { return nil }

// MergeRemoteState ignores remote extra state.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {}

// NotifyJoin records a member that became alive.
func (d *delegate) NotifyJoin(n *memberlist.Node) { d.upsert(n) }

// NotifyUpdate records a member's new meta.
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.upsert(n) }

// NotifyLeave forgets a member that left or was declared dead.
func (d *delegate) NotifyLeave(n *memberlist.Node) {
	d.a.mu.Lock()
	delete(d.a.members, n.Name)
	d.a.gone[n.Name]++
	d.a.mu.Unlock()
	d.a.log.Info("gossip member gone", "name", n.Name, "addr", nodeAddr(n))
	d.a.notify()
}

// upsert decodes n's meta and stores the member. A member with junk meta,
// or meta naming someone else, is logged and dropped from the list.
func (d *delegate) upsert(n *memberlist.Node) {
	addr := nodeAddr(n)
	meta, err := decodeMeta(n.Meta)
	if err == nil && meta.Name != n.Name {
		err = ErrInvalidMeta
	}
	d.a.mu.Lock()
	if err != nil {
		delete(d.a.members, n.Name)
	} else {
		d.a.members[n.Name] = Member{Meta: meta, Addr: addr, Alive: true}
	}
	d.a.mu.Unlock()
	if err != nil {
		d.a.log.Warn("gossip member has undecodable meta; ignoring it", "name", n.Name, "addr", addr, "err", err)
	} else {
		d.a.log.Debug("gossip member alive", "name", n.Name, "addr", addr, "role", meta.Role)
	}
	d.a.notify()
}

// NotifyConflict is called when two nodes claim one name. When the name is
// ours, Join reports ErrNameConflict.
func (d *delegate) NotifyConflict(existing, other *memberlist.Node) {
	if existing.Name == d.a.name {
		d.a.mu.Lock()
		d.a.conflict = nodeAddr(other)
		d.a.mu.Unlock()
	}
	d.a.log.Error("gossip name conflict", "name", existing.Name, "addr", nodeAddr(existing), "other_addr", nodeAddr(other))
}

func nodeAddr(n *memberlist.Node) string {
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}
