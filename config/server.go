package config

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiffhq/skiff/internal/raftdefaults"
)

// Server is the configuration of one control-plane server (skiff server).
// The zero value is not usable: start from [DefaultServer] or [LoadServer].
type Server struct {
	Name            string   // "name": this server's Raft ID and gossip name.
	DataDir         string   // "data_dir": Raft log, snapshots and the token file.
	APIAddr         string   // "api_addr": host:port of the HTTP API.
	RaftAddr        string   // "raft_addr": host:port of the Raft TCP transport.
	GossipAddr      string   // "gossip_addr": host:port of memberlist (TCP and UDP).
	BootstrapExpect int      // "bootstrap_expect": servers to see before bootstrapping Raft.
	Join            []string // "join": gossip seed addresses, host:port.
	Token           string   // "token": shared cluster secret; see Validate for when it is required.
	AcceptedTokens  []string // "accepted_tokens": more tokens accepted, never sent, while rotating; see docs/operations.md.
	LogLevel        string   // "log_level": debug, info, warn or error.
	// "terminated_pod_gc_threshold": finished pods kept before the
	// garbage collector deletes the oldest; 0 or less disables it.
	TerminatedPodGCThreshold int
	Raft                     Raft    // "raft": Raft tuning.
	Network                  Network // the cluster network; top-level keys, see Network.
}

// Network is the address plan of the cluster, the same on every server:
// where pod and Service addresses come from and how cluster DNS is
// reached. Validate checks each key and that the ranges do not overlap.
type Network struct {
	PodCIDR       netip.Prefix // "pod_cidr": the cluster pod CIDR that node IPAM splits.
	NodeCIDRMask  int          // "node_cidr_mask": prefix length of each node's pod CIDR.
	ServiceCIDR   netip.Prefix // "service_cidr": where Service ClusterIPs come from.
	ClusterDNS    netip.Addr   // "cluster_dns": the ClusterIP pods use as their resolver.
	ClusterDomain string       // "cluster_domain": the DNS suffix of Services (svc.<domain>).
}

// Raft holds the hashicorp/raft tuning knobs of a server and the size of the
// store's watch event log. Its fields are raftstore.Tuning's, in order, so
// each converts to the other; the defaults are raftdefaults.Get's.
type Raft struct {
	HeartbeatTimeout   time.Duration // "raft.heartbeat_timeout"
	ElectionTimeout    time.Duration // "raft.election_timeout"
	LeaderLeaseTimeout time.Duration // "raft.leader_lease_timeout"
	CommitTimeout      time.Duration // "raft.commit_timeout"
	SnapshotThreshold  uint64        // "raft.snapshot_threshold": log entries between snapshots.
	SnapshotInterval   time.Duration // "raft.snapshot_interval": how often to check the threshold.
	TrailingLogs       uint64        // "raft.trailing_logs": entries kept after a snapshot.
	WatchLogSize       int           // "raft.watch_log_size": events kept for watches.
}

// Defaults shared by DefaultServer, the flags' help text and the client.
const (
	DefaultAPIAddr    = "127.0.0.1:7443"
	DefaultRaftAddr   = "127.0.0.1:7001"
	DefaultGossipAddr = "127.0.0.1:7946"
	// DefaultDataRoot is the parent of the default data directory, which is
	// DefaultDataRoot/<name>.
	DefaultDataRoot = "/var/lib/skiff"
	// DevDataDir is the data directory of `skiff dev`, relative to the
	// working directory.
	DevDataDir = ".skiff/dev"
	// TokenFile is the name, inside the data directory, of the file holding
	// the cluster token that clients on the same machine may read.
	TokenFile = "token"
	// MinTokenLen is the shortest accepted cluster token.
	MinTokenLen = 16
)

// DefaultServer returns a configuration with every default filled in: the
// name is the host name and the data directory is /var/lib/skiff/<name>.
func DefaultServer() Server {
	name, err := os.Hostname()
	if err != nil {
		name = ""
	}
	return Server{
		Name:            name,
		DataDir:         DefaultDataDir(name),
		APIAddr:         DefaultAPIAddr,
		RaftAddr:        DefaultRaftAddr,
		GossipAddr:      DefaultGossipAddr,
		BootstrapExpect: 1,
		LogLevel:        "info",
		// Kubernetes' default for --terminated-pod-gc-threshold.
		TerminatedPodGCThreshold: 12500,
		Raft:                     Raft(raftdefaults.Get()),
		Network:                  DefaultNetwork(),
	}
}

// DefaultNetwork returns the address plan of Kubernetes' usual defaults:
// pods in 10.244.0.0/16 split in /24s per node, Services in 10.96.0.0/12,
// cluster DNS at 10.96.0.10 under cluster.local.
func DefaultNetwork() Network {
	return Network{
		PodCIDR:       netip.MustParsePrefix("10.244.0.0/16"),
		NodeCIDRMask:  24,
		ServiceCIDR:   netip.MustParsePrefix("10.96.0.0/12"),
		ClusterDNS:    netip.MustParseAddr("10.96.0.10"),
		ClusterDomain: "cluster.local",
	}
}

// DevServer returns the embedded configuration of `skiff dev`: a single
// server named "dev" that bootstraps alone, with its data in DevDataDir.
func DevServer() Server {
	s := DefaultServer()
	s.Name = "dev"
	s.DataDir = DevDataDir
	return s
}

// DefaultDataDir returns the data directory used when none is configured.
func DefaultDataDir(name string) string {
	if name == "" {
		return ""
	}
	return filepath.Join(DefaultDataRoot, name)
}

// TokenPath returns the file in the data directory where a server keeps the
// cluster token for local clients.
func (s Server) TokenPath() string {
	return filepath.Join(s.DataDir, TokenFile)
}

// SlogLevel returns LogLevel as a slog level; anything Validate rejects maps
// to info.
func (s Server) SlogLevel() slog.Level { return slogLevel(s.LogLevel) }

// slogLevel maps a log_level value to a slog level; anything validation
// rejects maps to info.
func slogLevel(level string) slog.Level {
	switch strings.ToLower(level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
