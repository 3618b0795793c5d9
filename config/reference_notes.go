package config

// serverNotes and workerNotes add to the generated reference what a key's
// one-line help text cannot say: the rules Validate enforces and what the
// key changes. They sit beside the field tables so that a rule changed in
// validate.go, network.go or worker_load.go is changed here too;
// TestKeyNotesNameKeys fails for a note whose key no longer exists.
var serverNotes = map[string]string{
	"name": "The Raft server ID and gossip node name. 1-253 letters, digits, '.', '_' or '-', " +
		"starting with a letter or digit.",
	"data_dir": "Holds raft.db, snapshots/, ca.crt, admin.kubeconfig and the generated token file; " +
		"created with mode 0700.",
	"api_addr":    "Serves the Kubernetes API, the operator API and the dashboard (/ui/) over HTTPS.",
	"raft_addr":   "Other servers dial it, so it must be an address they can reach, not 0.0.0.0.",
	"gossip_addr": "Servers and workers gossip with each other on it.",
	"bootstrap_expect": "At least 1. Every server of a new cluster must have the same value; " +
		"a server with state never bootstraps again.",
	"join": "Only the syntax is checked at start (seeds may not resolve yet); " +
		"the server keeps retrying, backing off to every 2s.",
	"token": "Required when bootstrap_expect > 1 or join is set. " +
		"A lone server without one generates it and keeps it in <data_dir>/token. " +
		"Gossip encryption, Raft's mutual TLS and the admin token derive from it; prefer SKIFF_TOKEN.",
	"accepted_tokens": "Each at least 16 characters, none repeated and none equal to token. " +
		"See \"Rotating the cluster token\" in docs/operations.md.",
	"terminated_pod_gc_threshold": "Succeeded and Failed pods count; Kubernetes' default.",
	"raft.heartbeat_timeout":      "At least 5ms.",
	"raft.election_timeout":       "At least 5ms and at least raft.heartbeat_timeout.",
	"raft.leader_lease_timeout":   "At least 5ms and at most raft.heartbeat_timeout.",
	"raft.commit_timeout":         "At least 1ms.",
	"raft.snapshot_threshold":     "At least 1.",
	"raft.snapshot_interval":      "At least 5ms; the check happens at a random moment between one and two intervals.",
	"raft.trailing_logs":          "A follower further behind than this catches up by installing a snapshot.",
	"raft.watch_log_size":         "At least 1. A watch from an older revision gets 410 Gone and relists.",
	"pod_cidr": "Host bits must be zero; must not overlap service_cidr. " +
		"Workers need the same value in their own pod_cidr.",
	"node_cidr_mask": "Longer than pod_cidr's prefix, at most /30 (IPv4) or /126 (IPv6), " +
		"and splitting pod_cidr into at most 2^24 node CIDRs.",
	"service_cidr": "Host bits must be zero; must not overlap pod_cidr.",
	"cluster_dns": "Not the network address of service_cidr. The leader keeps the Service " +
		"kube-system/kube-dns at this ClusterIP; workers need the same value in their own cluster_dns.",
	"cluster_domain": "Lowercase letters, digits and '-' in dot-separated labels of 1-63 characters.",
}

var workerNotes = map[string]string{
	"name": "A DNS subdomain (lowercase). Also the worker's gossip name, which the node lifecycle " +
		"controller matches to the Node.",
	"data_dir": "Holds credentials.json (the node credential, 0600), pods/ (pod files and container logs), " +
		"netns/, cni-ipam/, cni/ (by default) and images/ (OCI archives imported at start).",
	"join": "Required: at least one server's gossip address. The worker learns the API servers " +
		"from gossip and fails over between them.",
	"token": "Required; at least 16 characters. The first start trades it for a node credential " +
		"kept in data_dir (credentials.json); gossip needs it at every start. Prefer SKIFF_TOKEN.",
	"accepted_tokens": "Each at least 16 characters, none repeated and none equal to token. Gossip " +
		"encrypted with any of them is accepted; only token's key is sent. See \"Rotating the cluster token with workers\" " +
		"in docs/operations-workers.md.",
	"ca_file": "Must exist when set. Without it the first registration trusts the server named by " +
		"token-encrypted gossip once and pins the CA it answers with.",
	"containerd_socket": "The worker keeps its containers in containerd's namespace \"skiff\".",
	"address":           "A specific IP address (not 0.0.0.0). Other nodes route this node's pod CIDR to it.",
	"gossip_addr":       "Must not clash with listen_addr.",
	"listen_addr": "Reached only by the API servers (a client certificate of the cluster CA); " +
		"advertised in the Node's status.daemonEndpoints.",
	"labels": "Keys are qualified names and values label values, as in Kubernetes; " +
		"kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch are always set.",
	"taints":              "Effect is NoSchedule, PreferNoSchedule or NoExecute.",
	"reserved.cpu":        "A Kubernetes quantity (\"100m\"), not negative. Allocatable is capacity minus reserved.",
	"reserved.memory":     "A Kubernetes quantity (\"128Mi\"), not negative.",
	"max_pods":            "At least 1.",
	"insecure_registries": "Each a host name or IP, with an optional port.",
	"cni_bin_dir":         "Needs the bridge, host-local, portmap and loopback plugins (Debian's containernetworking-plugins).",
	"cni_bridge":          "1-15 letters, digits, '-' or '_'. Its address is the first of the Node's pod CIDR.",
	"pod_cidr": "Must equal the servers' pod_cidr: routes to other nodes' pod CIDRs and the masquerading " +
		"of traffic leaving the cluster use it.",
	"cluster_dns": "A specific IP address; must equal the servers' cluster_dns, the ClusterIP of " +
		"kube-system/kube-dns, which netproxy sends to this node's own DNS server (docs/networking.md).",
	"cluster_domain": "Lowercase letters, digits and '-' in dot-separated labels of 1-63 characters; " +
		"must equal the servers' cluster_domain.",
	"resolv_conf": "Read at each pod's start and when the DNS server starts. Use " +
		"/run/systemd/resolve/resolv.conf with systemd-resolved: pods cannot reach 127.0.0.53.",
	"lease_renew": "From 100ms to 20s: the node lifecycle controller treats a Lease that has not been " +
		"renewed for 5s as a dead node.",
	"status_interval": "At least 100ms. Status is written only when it changes.",
	"log_max_size":    "At least 4096. One rotated file (.log.1) is kept.",
}
