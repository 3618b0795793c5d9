package cli

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	statsv1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/ptr"
)

func cpuMem(nanoCores, ws uint64) (*statsv1.CPUStats, *statsv1.MemoryStats) {
	return &statsv1.CPUStats{UsageNanoCores: ptr.To(nanoCores)}, &statsv1.MemoryStats{WorkingSetBytes: ptr.To(ws)}
}

func podStats(ns, name, uid string, containers map[string][2]uint64) statsv1.PodStats {
	ps := statsv1.PodStats{PodRef: statsv1.PodReference{Namespace: ns, Name: name, UID: uid}}
	var cpu, mem uint64
	for _, c := range []string{"app", "side"} {
		u, ok := containers[c]
		if !ok {
			continue
		}
		cs := statsv1.ContainerStats{Name: c}
		cs.CPU, cs.Memory = cpuMem(u[0], u[1])
		ps.Containers = append(ps.Containers, cs)
		cpu, mem = cpu+u[0], mem+u[1]
	}
	ps.CPU, ps.Memory = cpuMem(cpu, mem)
	return ps
}

func topFixture() ([]corev1.Node, []corev1.Pod, map[string]*statsv1.Summary) {
	node := func(name string, cpu, mem string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}
	}
	pod := func(ns, name, uid string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(uid)}}
	}
	n1 := statsv1.Summary{Node: statsv1.NodeStats{NodeName: "w1"}, Pods: []statsv1.PodStats{
		podStats("default", "web", "u-web", map[string][2]uint64{"app": {250e6, 64 << 20}, "side": {5e6, 8 << 20}}),
		podStats("kube-system", "dns", "u-dns", map[string][2]uint64{"app": {1e6, 20 << 20}}),
		// A pod of the same name made again: another UID, not listed.
		podStats("default", "old", "u-old-before", map[string][2]uint64{"app": {9e9, 9 << 30}}),
	}}
	n1.Node.CPU, n1.Node.Memory = cpuMem(1500e6, 3<<30)
	n2 := statsv1.Summary{Node: statsv1.NodeStats{NodeName: "w2"}, Pods: []statsv1.PodStats{
		podStats("default", "api", "u-api", map[string][2]uint64{"app": {700e6, 300 << 20}}),
	}}
	n2.Node.CPU, n2.Node.Memory = cpuMem(900e6, 1<<30)
	nodes := []corev1.Node{node("w2", "4", "8Gi"), node("w1", "2", "4Gi"), node("w3", "2", "4Gi")}
	pods := []corev1.Pod{pod("default", "web", "u-web"), pod("default", "api", "u-api"), pod("kube-system", "dns", "u-dns"),
		pod("default", "old", "u-old-now"), pod("default", "pending", "u-pending")}
	return nodes, pods, map[string]*statsv1.Summary{"w1": &n1, "w2": &n2}
}

func TestTopOutput(t *testing.T) {
	nodes, pods, sums := topFixture()
	for _, tc := range []struct {
		name  string
		print func(w *bytes.Buffer) error
		want  string
	}{
		{"nodes", func(w *bytes.Buffer) error { return printNodeUsage(w, nodeUsage(nodes, sums), "") }, `
NAME   CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%
w1     1500m        75%         3072Mi          75%
w2     900m         22%         1024Mi          12%
w3     <unknown>    <unknown>   <unknown>       <unknown>
`},
		{"nodes by memory", func(w *bytes.Buffer) error { return printNodeUsage(w, nodeUsage(nodes[:2], sums), "memory") }, `
NAME   CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%
w1     1500m        75%    3072Mi          75%
w2     900m         22%    1024Mi          12%
`},
		{"pods of default", func(w *bytes.Buffer) error { return printPodUsage(w, podUsage(pods[:2], sums), false, false, "") }, `
NAME   CPU(cores)   MEMORY(bytes)
api    700m         300Mi
web    255m         72Mi
`},
		{"pods of every namespace by cpu", func(w *bytes.Buffer) error { return printPodUsage(w, podUsage(pods, sums), true, false, "cpu") }, `
NAMESPACE     NAME   CPU(cores)   MEMORY(bytes)
default       api    700m         300Mi
default       web    255m         72Mi
kube-system   dns    1m           20Mi
`},
		{"containers", func(w *bytes.Buffer) error { return printPodUsage(w, podUsage(pods, sums), false, true, "") }, `
POD   NAME   CPU(cores)   MEMORY(bytes)
api   app    700m         300Mi
web   app    250m         64Mi
web   side   5m           8Mi
dns   app    1m           20Mi
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tc.want, "\n"); b.String() != want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
			}
		})
	}
}

func TestTopSkipsPodsWithoutACPURate(t *testing.T) {
	_, pods, sums := topFixture()
	sums["w2"].Pods[0].CPU.UsageNanoCores = nil // too new for a rate
	for _, r := range podUsage(pods, sums) {
		if r.name == "api" {
			t.Errorf("pod api listed without a CPU rate: %+v", r)
		}
	}
}

func TestTopUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad sort", []string{"top", "nodes", "--sort-by", "disk"}, 2, "--sort-by must be cpu or memory"},
		{"name and -A", []string{"top", "pods", "web", "-A"}, 2, "exclude each other"},
		{"no cluster", []string{"top", "nodes"}, 1, "no cluster configured"},
		{"two names", []string{"top", "pods", "a", "b"}, 2, "at most 1 argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, []string{"HOME=" + t.TempDir()}, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

// FuzzTopSummary feeds arbitrary worker answers to the summary decoder
// and the table code: whatever a worker sends, skiff top prints a table
// or reports an error, and never panics.
func FuzzTopSummary(f *testing.F) {
	f.Add([]byte(`{"node":{"nodeName":"w1","cpu":{"usageNanoCores":5},"memory":{"workingSetBytes":7}},"pods":[{"podRef":{"name":"web","namespace":"default","uid":"u-web"},"cpu":{"usageNanoCores":1},"memory":{"workingSetBytes":2},"containers":[{"name":"app","cpu":{"usageNanoCores":1},"memory":{"workingSetBytes":2}}]}]}`))
	f.Add([]byte(`{"node":{},"pods":[{"podRef":{"uid":"u-web"},"cpu":null,"containers":null}]}`))
	f.Add([]byte(`{"node":{"cpu":{"usageNanoCores":18446744073709551615},"memory":{"workingSetBytes":18446744073709551615}}}`))
	f.Add([]byte(`[]`))
	nodes, pods, _ := topFixture()
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := decodeSummary(raw)
		if err != nil {
			return
		}
		sums := map[string]*statsv1.Summary{"w1": s}
		var b bytes.Buffer
		if err := printNodeUsage(&b, nodeUsage(nodes, sums), "cpu"); err != nil {
			t.Fatal(err)
		}
		if err := printPodUsage(&b, podUsage(pods, sums), true, true, "memory"); err != nil {
			t.Fatal(err)
		}
	})
}
