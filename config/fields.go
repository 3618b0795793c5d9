package config

import (
	"net/netip"
	"strings"
	"time"
)

// field describes one configuration key of a configuration struct T (Server
// or Worker): where it lives in T, how it is spelled as a flag and an
// environment variable, and its help text. The tables in serverFields and
// workerFields are the single places that list the keys.
type field[T any] struct {
	key   string // viper key, e.g. "raft.heartbeat_timeout"
	usage string
	// ptr returns a pointer into s: *string, *int, *uint64, *time.Duration,
	// *[]string, *map[string]string, *netip.Prefix or *netip.Addr.
	ptr func(s *T) any
}

// flagName returns the command-line flag of the key: "raft.heartbeat_timeout"
// becomes "raft-heartbeat-timeout".
func (f field[T]) flagName() string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(f.key)
}

// envName returns the environment variable of the key:
// "raft.heartbeat_timeout" becomes "SKIFF_RAFT_HEARTBEAT_TIMEOUT".
func (f field[T]) envName() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(f.key, ".", "_"))
}

const envPrefix = "SKIFF_"

// serverFields lists every key of Server in the order of the struct.
func serverFields() []field[Server] {
	return []field[Server]{
		{"name", "server name, unique in the cluster (default: the host name)",
			func(s *Server) any { return &s.Name }},
		{"data_dir", "data directory (default: " + DefaultDataRoot + "/<name>)",
			func(s *Server) any { return &s.DataDir }},
		{"api_addr", "host:port of the HTTP API", func(s *Server) any { return &s.APIAddr }},
		{"raft_addr", "host:port of the Raft transport", func(s *Server) any { return &s.RaftAddr }},
		{"gossip_addr", "host:port of gossip (TCP and UDP)", func(s *Server) any { return &s.GossipAddr }},
		{"bootstrap_expect", "number of servers to wait for before bootstrapping Raft",
			func(s *Server) any { return &s.BootstrapExpect }},
		{"join", "gossip seed addresses host:port (repeat or comma-separate)",
			func(s *Server) any { return &s.Join }},
		{"token", "shared cluster secret (at least 16 characters)", func(s *Server) any { return &s.Token }},
		{"accepted_tokens", "further cluster tokens accepted but never sent, while rotating the token (repeat or comma-separate)",
			func(s *Server) any { return &s.AcceptedTokens }},
		{"log_level", "log level: debug, info, warn or error", func(s *Server) any { return &s.LogLevel }},
		{"terminated_pod_gc_threshold", "finished pods kept before the oldest are deleted (0 disables)",
			func(s *Server) any { return &s.TerminatedPodGCThreshold }},
		{"raft.heartbeat_timeout", "Raft heartbeat timeout",
			func(s *Server) any { return &s.Raft.HeartbeatTimeout }},
		{"raft.election_timeout", "Raft election timeout",
			func(s *Server) any { return &s.Raft.ElectionTimeout }},
		{"raft.leader_lease_timeout", "Raft leader lease timeout",
			func(s *Server) any { return &s.Raft.LeaderLeaseTimeout }},
		{"raft.commit_timeout", "Raft commit timeout", func(s *Server) any { return &s.Raft.CommitTimeout }},
		{"raft.snapshot_threshold", "Raft log entries between snapshots",
			func(s *Server) any { return &s.Raft.SnapshotThreshold }},
		{"raft.snapshot_interval", "how often Raft checks the snapshot threshold",
			func(s *Server) any { return &s.Raft.SnapshotInterval }},
		{"raft.trailing_logs", "Raft log entries kept after a snapshot",
			func(s *Server) any { return &s.Raft.TrailingLogs }},
		{"raft.watch_log_size", "store events kept for watches",
			func(s *Server) any { return &s.Raft.WatchLogSize }},
		{"pod_cidr", "cluster pod CIDR, split into one CIDR per node", func(s *Server) any { return &s.Network.PodCIDR }},
		{"node_cidr_mask", "prefix length of each node's pod CIDR", func(s *Server) any { return &s.Network.NodeCIDRMask }},
		{"service_cidr", "CIDR of Service ClusterIPs", func(s *Server) any { return &s.Network.ServiceCIDR }},
		{"cluster_dns", "ClusterIP of the cluster DNS, inside service_cidr", func(s *Server) any { return &s.Network.ClusterDNS }},
		{"cluster_domain", "DNS domain of the cluster", func(s *Server) any { return &s.Network.ClusterDomain }},
	}
}

// lookupField returns the field of key in fields, if any.
func lookupField[T any](fields []field[T], key string) (field[T], bool) {
	for _, f := range fields {
		if f.key == key {
			return f, true
		}
	}
	return field[T]{}, false
}

// defaultValue returns the value of f in the defaults d, for viper's default
// layer and the flags' help text.
func (f field[T]) defaultValue(d *T) any {
	switch p := f.ptr(d).(type) {
	case *string:
		return *p
	case *int:
		return *p
	case *uint64:
		return *p
	case *time.Duration:
		return *p
	case *[]string:
		return *p
	case *map[string]string:
		return *p
	case *netip.Prefix:
		return p.String()
	case *netip.Addr:
		return p.String()
	}
	return nil
}
