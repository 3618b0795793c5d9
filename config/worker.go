package config

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// Worker is the configuration of one node agent (skiff worker). The zero
// value is not usable: start from [DefaultWorker] or [LoadWorker].
type Worker struct {
	Name             string            // "name": the Node's name and gossip name.
	DataDir          string            // "data_dir": credentials, pod files, logs, images/.
	Join             []string          // "join": gossip seed addresses of servers, host:port.
	Token            string            // "token": the cluster token, traded once for a node credential.
	AcceptedTokens   []string          // "accepted_tokens": more tokens whose gossip is accepted, never sent, while rotating.
	CAFile           string            // "ca_file": optional cluster CA; without it the first registration trusts the server gossip names.
	ContainerdSocket string            // "containerd_socket": containerd's gRPC socket.
	Address          string            // "address": the node's InternalIP; empty means the gossip bind address or the first non-loopback address.
	GossipAddr       string            // "gossip_addr": host:port of memberlist (TCP and UDP).
	ListenAddr       string            // "listen_addr": host:port of the worker's HTTPS endpoint (logs, exec).
	Labels           map[string]string // "labels": extra Node labels.
	Taints           []string          // "taints": Node taints as key=value:Effect or key:Effect.
	Reserved         Reserved          // "reserved": resources kept from pods.
	MaxPods          int               // "max_pods": the Node's pods capacity.
	InsecureRegs     []string          // "insecure_registries": registries (host:port) pulled from over plain HTTP.
	CNIBinDir        string            // "cni_bin_dir": CNI plugin binaries.
	CNIConfDir       string            // "cni_conf_dir": where the worker writes its CNI conflist.
	CNIBridge        string            // "cni_bridge": the Linux bridge pods attach to.
	PodCIDR          netip.Prefix      // "pod_cidr": the cluster pod CIDR (the servers' pod_cidr): pod routes and masquerade.
	ClusterDNS       netip.Addr        // "cluster_dns": the resolver pods get (the servers' cluster_dns, the kube-dns ClusterIP).
	ClusterDomain    string            // "cluster_domain": the cluster's DNS domain (the servers' cluster_domain).
	ResolvConf       string            // "resolv_conf": the node's resolver file: pods with dnsPolicy Default, search domains, DNS forwarding.
	LeaseRenew       time.Duration     // "lease_renew": how often the node Lease is renewed.
	StatusInterval   time.Duration     // "status_interval": how often node status is re-checked (written only when it changes).
	LogMaxSize       uint64            // "log_max_size": bytes per container log file before rotation.
	LogLevel         string            // "log_level": debug, info, warn or error.
}

// Reserved is what the worker keeps from pods: allocatable is capacity
// minus these. Values are Kubernetes quantities ("100m", "128Mi").
type Reserved struct {
	CPU    string // "reserved.cpu"
	Memory string // "reserved.memory"
}

// Worker defaults shared by DefaultWorker and the flags' help text.
const (
	DefaultContainerdSocket = "/run/containerd/containerd.sock"
	DefaultWorkerGossipAddr = "0.0.0.0:7947"
	DefaultWorkerListenAddr = "0.0.0.0:10250"
	DefaultCNIBinDir        = "/usr/lib/cni"
	DefaultMaxPods          = 110
)

// DefaultWorker returns a worker configuration with every default filled
// in: the name is the host name and the data directory
// /var/lib/skiff/<name>.
func DefaultWorker() Worker {
	name, err := os.Hostname()
	if err != nil {
		name = ""
	}
	return Worker{
		Name:             name,
		DataDir:          DefaultDataDir(name),
		ContainerdSocket: DefaultContainerdSocket,
		GossipAddr:       DefaultWorkerGossipAddr,
		ListenAddr:       DefaultWorkerListenAddr,
		Reserved:         Reserved{CPU: "100m", Memory: "128Mi"},
		MaxPods:          DefaultMaxPods,
		CNIBinDir:        DefaultCNIBinDir,
		CNIBridge:        "skiff0",
		PodCIDR:          DefaultNetwork().PodCIDR,
		ClusterDNS:       DefaultNetwork().ClusterDNS,
		ClusterDomain:    DefaultNetwork().ClusterDomain,
		ResolvConf:       "/etc/resolv.conf",
		LeaseRenew:       2 * time.Second,
		StatusInterval:   10 * time.Second,
		LogMaxSize:       10 << 20,
		LogLevel:         "info",
	}
}

// CNIConfPath returns the directory of the worker's CNI conflist:
// cni_conf_dir, or <data_dir>/cni when unset.
func (w Worker) CNIConfPath() string {
	if w.CNIConfDir != "" {
		return w.CNIConfDir
	}
	return filepath.Join(w.DataDir, "cni")
}

// SlogLevel returns LogLevel as a slog level.
func (w Worker) SlogLevel() slog.Level { return slogLevel(w.LogLevel) }

// workerFields lists every key of Worker in the order of the struct.
func workerFields() []field[Worker] {
	return []field[Worker]{
		{"name", "node name, unique in the cluster (default: the host name)", func(w *Worker) any { return &w.Name }},
		{"data_dir", "data directory (default: " + DefaultDataRoot + "/<name>)", func(w *Worker) any { return &w.DataDir }},
		{"join", "gossip addresses of servers, host:port (repeat or comma-separate)", func(w *Worker) any { return &w.Join }},
		{"token", "the cluster token: encrypts gossip and registers the node once", func(w *Worker) any { return &w.Token }},
		{"accepted_tokens", "further cluster tokens whose gossip is accepted but never sent, while rotating the token (repeat or comma-separate)",
			func(w *Worker) any { return &w.AcceptedTokens }},
		{"ca_file", "cluster CA certificate (PEM) to verify servers with at first registration", func(w *Worker) any { return &w.CAFile }},
		{"containerd_socket", "containerd's socket", func(w *Worker) any { return &w.ContainerdSocket }},
		{"address", "the node's InternalIP (default: the gossip address)", func(w *Worker) any { return &w.Address }},
		{"gossip_addr", "host:port of gossip (TCP and UDP)", func(w *Worker) any { return &w.GossipAddr }},
		{"listen_addr", "host:port of the worker's HTTPS endpoint for logs and exec", func(w *Worker) any { return &w.ListenAddr }},
		{"labels", "extra node labels key=value (comma-separate)", func(w *Worker) any { return &w.Labels }},
		{"taints", "node taints key=value:Effect (repeat or comma-separate)", func(w *Worker) any { return &w.Taints }},
		{"reserved.cpu", "CPU kept from pods", func(w *Worker) any { return &w.Reserved.CPU }},
		{"reserved.memory", "memory kept from pods", func(w *Worker) any { return &w.Reserved.Memory }},
		{"max_pods", "pods this node runs at most", func(w *Worker) any { return &w.MaxPods }},
		{"insecure_registries", "registries host:port pulled from over plain HTTP", func(w *Worker) any { return &w.InsecureRegs }},
		{"cni_bin_dir", "CNI plugin binaries", func(w *Worker) any { return &w.CNIBinDir }},
		{"cni_conf_dir", "directory of the worker's CNI conflist (default: <data_dir>/cni)", func(w *Worker) any { return &w.CNIConfDir }},
		{"cni_bridge", "the Linux bridge pods attach to", func(w *Worker) any { return &w.CNIBridge }},
		{"pod_cidr", "the cluster pod CIDR, as the servers' pod_cidr", func(w *Worker) any { return &w.PodCIDR }},
		{"cluster_dns", "the nameserver pods get, as the servers' cluster_dns", func(w *Worker) any { return &w.ClusterDNS }},
		{"cluster_domain", "the cluster's DNS domain, as the servers' cluster_domain", func(w *Worker) any { return &w.ClusterDomain }},
		{"resolv_conf", "the node's resolver configuration for pods and DNS forwarding", func(w *Worker) any { return &w.ResolvConf }},
		{"lease_renew", "interval between node Lease renewals", func(w *Worker) any { return &w.LeaseRenew }},
		{"status_interval", "interval between node status checks", func(w *Worker) any { return &w.StatusInterval }},
		{"log_max_size", "bytes of a container log file before it is rotated", func(w *Worker) any { return &w.LogMaxSize }},
		{"log_level", "log level: debug, info, warn or error", func(w *Worker) any { return &w.LogLevel }},
	}
}

func workerSchema() schema[Worker] {
	return schema[Worker]{
		fields:   workerFields(),
		defaults: DefaultWorker,
		sections: []string{"reserved"},
		maps:     []string{"labels"},
		dataDir:  func(w *Worker) string { return DefaultDataDir(w.Name) },
		validate: func(w *Worker, lookup lookupFunc) error { return w.validate(lookup) },
	}
}
