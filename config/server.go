package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
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
	Raft                     Raft // "raft": Raft tuning.
}

// Raft holds the hashicorp/raft tuning knobs of a server and the size of the
// store's watch event log.
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
		Raft: Raft{
			HeartbeatTimeout:   300 * time.Millisecond,
			ElectionTimeout:    300 * time.Millisecond,
			LeaderLeaseTimeout: 150 * time.Millisecond,
			CommitTimeout:      10 * time.Millisecond,
			SnapshotThreshold:  8192,
			SnapshotInterval:   30 * time.Second,
			TrailingLogs:       10240,
			WatchLogSize:       100000,
		},
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
func (s Server) SlogLevel() slog.Level {
	switch strings.ToLower(s.LogLevel) {
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
