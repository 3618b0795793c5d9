package raftstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/internal/raftdefaults"
)

// Tuning holds Raft's timing and log-compaction settings.
type Tuning = raftdefaults.Tuning

// Forwarder carries requests from a follower to the leader. The server
// package implements it over the servers' internal HTTP API.
type Forwarder interface {
	// Propose asks the leader to apply an encoded command. It returns
	// ErrNotLeader if the addressed server is not the leader (the command
	// was not applied), or another error whose outcome is unknown.
	Propose(ctx context.Context, leader raft.ServerID, cmd []byte) (fsm.Result, error)
	// ReadIndex asks the leader for the revision a linearizable read must
	// wait for (see Replica.LeaderReadIndex).
	ReadIndex(ctx context.Context, leader raft.ServerID) (uint64, error)
}

// Config configures a Replica.
type Config struct {
	ID raft.ServerID
	// BindAddr is the Raft TCP address; port 0 picks a free port. It must
	// be an address other servers can reach (not 0.0.0.0).
	BindAddr string
	// DataDir holds raft.db and snapshots/.
	DataDir   string
	Tuning    Tuning
	Forwarder Forwarder
	// Dialer opens connections to other servers; nil means TCP.
	Dialer Dialer
	// TLS, if set, is the mutual TLS that Raft connections run over.
	TLS    *TLS
	Logger *slog.Logger
}

// Errors returned by Replica.
var (
	// ErrNotLeader means the request reached a server that is not the
	// leader; nothing was applied, so it is safe to retry.
	ErrNotLeader = errors.New("not the raft leader")
	// ErrNoLeader means no leader could be found before the deadline.
	ErrNoLeader = errors.New("no raft leader")
	// ErrUnknownOutcome means a write may or may not have been committed
	// (leadership was lost while it was in flight, or the leader went away
	// after receiving it).
	ErrUnknownOutcome = errors.New("write outcome unknown")
	// ErrClosed means the node has been shut down.
	ErrClosed = errors.New("raft node closed")
)

// Replica is one Raft replica of the store.
type Replica struct {
	cfg      Config
	log      *slog.Logger
	store    *fsm.Store
	raft     *raft.Raft
	trans    *raft.NetworkTransport
	db       *raftboltdb.BoltStore
	snaps    *raft.FileSnapshotStore
	hasState bool

	notifyCh chan bool
	done     chan struct{}
	wg       sync.WaitGroup

	mu sync.Mutex
	// ready is true while this node leads and has applied every entry of
	// earlier terms (its leadership barrier has completed).
	ready   bool
	readyCh chan struct{} // closed when ready is set for the current leadership
	// lost is closed when the current leadership ends; nil while this node
	// does not lead (or its barrier is pending).
	lost chan struct{}
	// leaderships carries each new leadership, once its barrier completed.
	leaderships chan Leadership

	closeOnce sync.Once
}

// DefaultTuning returns the settings measured on loopback and a 2-core
// machine (see docs/benchmarks.md); Open fills zero knobs from it.
func DefaultTuning() Tuning { return raftdefaults.Get() }

// Open opens (or creates) the replica's on-disk state and starts Raft. A
// node without existing state stays idle until Bootstrap is called or a
// leader adds it.
func Open(cfg Config) (*Replica, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ID == "" {
		return nil, errors.New("raftstore: empty server id")
	}
	log := cfg.Logger.With("component", "raft")
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	store := fsm.New(fsm.Options{WatchLogSize: cfg.Tuning.WatchLogSize})
	n := &Replica{cfg: cfg, log: log, store: store, notifyCh: make(chan bool, 16), done: make(chan struct{}), readyCh: make(chan struct{}), leaderships: make(chan Leadership, 1)}

	db, err := openLogStore(filepath.Join(cfg.DataDir, logFile))
	if err != nil {
		return nil, err
	}
	n.db = db
	hl := newHCLogger(log)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, hl.Named("snapshot"))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	n.snaps = snaps
	if err := checkAdvertisable(cfg.BindAddr); err != nil {
		db.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("raft_addr %s: %w", cfg.BindAddr, err)
	}
	dial := cfg.Dialer
	if dial == nil {
		dial = tcpDial
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  &streamLayer{Listener: ln, dial: dial, tls: cfg.TLS},
		MaxPool: 4,
		// hashicorp/raft v1.7.3's pipelined replication can deadlock:
		// once its decoder quits (on a stale term after a leadership
		// transfer, or on a rejected append), a further send blocks
		// forever on the hand-off to the decoder, with the pipeline's
		// Close deferred behind it. A leader that handed over leadership
		// then hangs in Shutdown; a leader whose follower rejected an
		// append stops sending it entries while heartbeats go on. With
		// the default of 2 in flight the hand-off is unbuffered and one
		// send is enough. With 64 the buffers hold 62 each, and the send
		// loop, which picks the quit decoder's closed channel with
		// probability at least 1/2 each turn (1/4 at worst), must miss it
		// 62 times in a row first. Measured in docs/benchmarks.md, 64 is
		// no slower than the default; 1 (no pipelining) rules the
		// deadlock out but cost up to 40% at 256 writers.
		MaxRPCsInFlight: 64,
		Timeout:         10 * time.Second,
		Logger:          hl.Named("transport"),
	})
	n.trans = trans
	var started atomic.Bool
	logStore, machine := withCrashPoints(db, &fsm.FSM{Store: store}, &started)
	logs, err := raft.NewLogCache(1024, logStore)
	if err != nil {
		n.closeStores()
		return nil, err
	}
	n.hasState, err = raft.HasExistingState(logs, db, snaps)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("read raft state: %w", err)
	}
	rc := raftConfig(cfg, hl)
	rc.NotifyCh = n.notifyCh
	r, err := raft.NewRaft(rc, machine, logs, db, snaps, trans)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	started.Store(true)
	n.wg.Add(1)
	go n.watchLeadership()
	return n, nil
}

func raftConfig(cfg Config, hl hclog.Logger) *raft.Config {
	t := cfg.Tuning
	def := DefaultTuning()
	pick := func(v, d time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return d
	}
	rc := raft.DefaultConfig()
	rc.LocalID = cfg.ID
	rc.Logger = hl
	rc.HeartbeatTimeout = pick(t.HeartbeatTimeout, def.HeartbeatTimeout)
	rc.ElectionTimeout = pick(t.ElectionTimeout, def.ElectionTimeout)
	rc.LeaderLeaseTimeout = pick(t.LeaderLeaseTimeout, def.LeaderLeaseTimeout)
	rc.CommitTimeout = pick(t.CommitTimeout, def.CommitTimeout)
	rc.SnapshotInterval = pick(t.SnapshotInterval, def.SnapshotInterval)
	rc.SnapshotThreshold = def.SnapshotThreshold
	if t.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = t.SnapshotThreshold
	}
	rc.TrailingLogs = def.TrailingLogs
	if t.TrailingLogs > 0 {
		rc.TrailingLogs = t.TrailingLogs
	}
	rc.MaxAppendEntries = 512
	rc.BatchApplyCh = true
	return rc
}

func checkAdvertisable(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("raft_addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("raft_addr %q: must be an address other servers can reach, not %s", addr, host)
	}
	return nil
}

// Store returns the replica's state machine for reads and watches.
func (n *Replica) Store() *fsm.Store { return n.store }

// Raft exposes the underlying raft instance for stats and tests.
func (n *Replica) Raft() *raft.Raft { return n.raft }

// ID returns this server's ID.
func (n *Replica) ID() raft.ServerID { return n.cfg.ID }

// Addr returns the address Raft listens on.
func (n *Replica) Addr() raft.ServerAddress { return n.trans.LocalAddr() }

// HasState reports whether the node found existing Raft state on disk when
// it was opened, or has since been bootstrapped or joined.
func (n *Replica) HasState() bool {
	if n.hasState {
		return true
	}
	return n.raft.LastIndex() > 0
}

// Leader returns the current leader's ID and address as this node knows
// them; empty if none.
func (n *Replica) Leader() (raft.ServerID, raft.ServerAddress) {
	addr, id := n.raft.LeaderWithID()
	return id, addr
}

// IsLeader reports whether this node believes it is the leader.
func (n *Replica) IsLeader() bool { return n.raft.State() == raft.Leader }

// Close shuts Raft down and releases the on-disk stores. It does not hand
// leadership over; use TransferLeadership first for a graceful stop.
func (n *Replica) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.done)
		err = n.raft.Shutdown().Error()
		n.wg.Wait()
		n.mu.Lock()
		n.endLeadershipLocked()
		n.mu.Unlock()
		n.closeStores()
	})
	return err
}

func (n *Replica) closeStores() {
	if n.trans != nil {
		n.trans.Close()
	}
	if n.db != nil {
		n.db.Close()
	}
}
