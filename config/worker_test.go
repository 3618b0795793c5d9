package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

const workerBase = "name: w1\njoin: [10.0.0.1:7946]\ntoken: 0123456789abcdef\n"

func TestLoadWorker(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		args []string
		want func(w *Worker)
	}{
		{name: "minimal", file: workerBase, want: func(*Worker) {}},
		{
			name: "every key",
			file: workerBase + `data_dir: /tmp/w
containerd_socket: /run/c.sock
address: 10.0.0.11
gossip_addr: 127.0.0.1:0
listen_addr: 127.0.0.1:0
labels: {zone: a, topology.kubernetes.io/Region: EU}
taints: ["dedicated=gpu:NoSchedule", "spot:PreferNoSchedule"]
reserved: {cpu: 250m, memory: 1Gi}
max_pods: 20
insecure_registries: ["127.0.0.1:5000", "registry.test"]
cni_bin_dir: /opt/cni/bin
cni_conf_dir: /etc/cni/net.d
cluster_dns: 10.100.0.53
cluster_domain: k8s.example
resolv_conf: /run/systemd/resolve/resolv.conf
lease_renew: 1s
status_interval: 5s
log_max_size: 65536
log_level: debug
`,
			want: func(w *Worker) {
				w.DataDir, w.ContainerdSocket, w.Address = "/tmp/w", "/run/c.sock", "10.0.0.11"
				w.GossipAddr, w.ListenAddr = "127.0.0.1:0", "127.0.0.1:0"
				w.Labels = map[string]string{"zone": "a", "topology.kubernetes.io/Region": "EU"}
				w.Taints = []string{"dedicated=gpu:NoSchedule", "spot:PreferNoSchedule"}
				w.Reserved = Reserved{CPU: "250m", Memory: "1Gi"}
				w.MaxPods = 20
				w.InsecureRegs = []string{"127.0.0.1:5000", "registry.test"}
				w.CNIBinDir, w.CNIConfDir = "/opt/cni/bin", "/etc/cni/net.d"
				w.ClusterDNS, w.ClusterDomain = netip.MustParseAddr("10.100.0.53"), "k8s.example"
				w.ResolvConf = "/run/systemd/resolve/resolv.conf"
				w.LeaseRenew, w.StatusInterval = time.Second, 5*time.Second
				w.LogMaxSize, w.LogLevel = 65536, "debug"
			},
		},
		{
			name: "env labels over file",
			file: workerBase + "labels: {zone: a}\n",
			env:  []string{"SKIFF_LABELS=zone=b,rack=r1"},
			want: func(w *Worker) { w.Labels = map[string]string{"zone": "b", "rack": "r1"} },
		},
		{
			name: "flags over env",
			file: workerBase,
			env:  []string{"SKIFF_RESERVED_CPU=1"},
			args: []string{"--reserved-cpu", "2", "--labels", "Zone=c"},
			want: func(w *Worker) { w.Reserved.CPU = "2"; w.Labels = map[string]string{"Zone": "c"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
			WorkerFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := load(workerSchema(), writeConfig(t, tt.file), fs, tt.env, fakeLookup)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			want := DefaultWorker()
			want.Name, want.DataDir = "w1", "/var/lib/skiff/w1"
			want.Join, want.Token = []string{"10.0.0.1:7946"}, "0123456789abcdef"
			tt.want(&want)
			if want.Labels == nil {
				want.Labels = got.Labels // nil or empty: both mean none
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadWorkerErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown key", workerBase + "bogus: 1\n", nil, `unknown key "bogus"`},
		{"unknown reserved key", workerBase + "reserved: {disk: 1Gi}\n", nil, `unknown key "reserved.disk"`},
		{"no join", "name: w1\ntoken: 0123456789abcdef\n", nil, "join is required"},
		{"no token", "name: w1\njoin: [10.0.0.1:7946]\n", nil, "token is required"},
		{"bad name", "name: W_1\njoin: [10.0.0.1:7946]\ntoken: 0123456789abcdef\n", nil, `name "W_1"`},
		{"labels not a map", workerBase + "labels: [a]\n", nil, "labels: expected a map of strings"},
		{"label value not a string", workerBase + "labels: {zone: 1}\n", nil, "quote it"},
		{"bad label key", workerBase + "labels: {'-x': a}\n", nil, `labels: key "-x"`},
		{"bad taint", workerBase + "taints: [gpu=1:Never]\n", nil, `taints[0] "gpu=1:Never": effect "Never"`},
		{"taint without effect", workerBase + "taints: [gpu]\n", nil, "missing :Effect"},
		{"bad cpu", workerBase + "reserved: {cpu: lots}\n", nil, `reserved.cpu "lots"`},
		{"negative memory", workerBase + "reserved: {memory: -1Gi}\n", nil, "reserved.memory"},
		{"bad registry", workerBase + "insecure_registries: ['a b:5000']\n", nil, "insecure_registries[0]"},
		{"bad address", workerBase + "address: 0.0.0.0\n", nil, "address"},
		{"clash", workerBase + "gossip_addr: 127.0.0.1:9000\nlisten_addr: 127.0.0.1:9000\n", nil, "clashes with gossip_addr"},
		{"bad env", workerBase, []string{"SKIFF_MAX_PODS=many"}, "max_pods: \"many\" is not an integer (set by SKIFF_MAX_PODS)"},
		{"slow lease", workerBase + "lease_renew: 1m\n", nil, "lease_renew must be at most 20s"},
		{"bad cluster dns", workerBase + "cluster_dns: 0.0.0.0\n", nil, "cluster_dns is required"},
		{"bad cluster domain", workerBase + "cluster_domain: Cluster.Local\n", nil, `cluster_domain "Cluster.Local"`},
		{"missing ca file", workerBase + "ca_file: /nonexistent/ca.crt\n", nil, "ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(workerSchema(), writeConfig(t, tt.file), nil, tt.env, fakeLookup)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzLoadWorker feeds arbitrary bytes to the worker loader as a YAML
// file. It must never panic, and whatever it accepts must be valid.
func FuzzLoadWorker(f *testing.F) {
	for _, s := range []string{
		workerBase,
		workerBase + "labels: {a: b}\n",
		workerBase + "labels: 5\n",
		workerBase + "reserved: 5\n",
		workerBase + "taints: [a:NoSchedule]\n",
		"labels: {? [a] : b}\n",
		"x: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("..", "examples", "worker.yaml")); err == nil {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "worker.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := load(workerSchema(), path, nil, nil, fakeLookup)
		if err != nil {
			return
		}
		if err := w.validate(fakeLookup); err != nil {
			t.Fatalf("load accepted a configuration that does not validate: %v", err)
		}
	})
}
