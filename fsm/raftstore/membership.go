package raftstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Server is one member of the Raft configuration.
type Server struct {
	ID      raft.ServerID
	Address raft.ServerAddress
	Voter   bool
}

// ErrUnknownServer means a membership call named a server that is not in
// the configuration.
var ErrUnknownServer = errors.New("no such server in the raft configuration")

const membershipTimeout = 10 * time.Second

// Bootstrap starts a new cluster whose voters are servers. Every server of
// a new cluster may call it with the same list; a node that already has
// state ignores it.
func (n *Replica) Bootstrap(servers []Server) error {
	var cfg raft.Configuration
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, raft.Server{ID: s.ID, Address: s.Address, Suffrage: raft.Voter})
	}
	err := n.raft.BootstrapCluster(cfg).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bootstrap raft: %w", err)
	}
	return nil
}

// Servers returns the latest Raft configuration.
func (n *Replica) Servers() ([]Server, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	var out []Server
	for _, s := range f.Configuration().Servers {
		out = append(out, Server{ID: s.ID, Address: s.Address, Voter: s.Suffrage == raft.Voter})
	}
	return out, nil
}

// AddVoter adds (or re-addresses) a voting server. Leader only.
func (n *Replica) AddVoter(id raft.ServerID, addr raft.ServerAddress) error {
	if err := n.raft.AddVoter(id, addr, 0, membershipTimeout).Error(); err != nil {
		return leaderErr("add voter "+string(id), err)
	}
	return nil
}

// RemoveServer removes a server from the configuration. Leader only; the
// leader may remove itself, after which it steps down.
func (n *Replica) RemoveServer(id raft.ServerID) error {
	servers, err := n.Servers()
	if err != nil {
		return err
	}
	found := false
	for _, s := range servers {
		found = found || s.ID == id
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrUnknownServer, id)
	}
	if err := n.raft.RemoveServer(id, 0, membershipTimeout).Error(); err != nil {
		return leaderErr("remove server "+string(id), err)
	}
	return nil
}

// TransferLeadership hands leadership to the server with id, or to the most
// up-to-date follower when id is empty. Leader only.
func (n *Replica) TransferLeadership(id raft.ServerID) error {
	var f raft.Future
	if id == "" {
		f = n.raft.LeadershipTransfer()
	} else {
		servers, err := n.Servers()
		if err != nil {
			return err
		}
		var addr raft.ServerAddress
		for _, s := range servers {
			if s.ID == id {
				addr = s.Address
			}
		}
		if addr == "" {
			return fmt.Errorf("%w: %s", ErrUnknownServer, id)
		}
		f = n.raft.LeadershipTransferToServer(id, addr)
	}
	if err := f.Error(); err != nil {
		return leaderErr("transfer leadership", err)
	}
	return nil
}

func leaderErr(what string, err error) error {
	if errors.Is(err, raft.ErrNotLeader) {
		return fmt.Errorf("%s: %w", what, ErrNotLeader)
	}
	return fmt.Errorf("%s: %w", what, err)
}
