package cli

import (
	"bytes"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

func resources(cpu, mem string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
}

func podMetrics(ns, name string, containers ...metricsv1beta1.ContainerMetrics) metricsv1beta1.PodMetrics {
	return metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Containers: containers}
}

func container(name, cpu, mem string) metricsv1beta1.ContainerMetrics {
	return metricsv1beta1.ContainerMetrics{Name: name, Usage: resources(cpu, mem)}
}

// topFixture is three nodes, two with usage, and the pods' metrics as the
// API answers them (CPU in nanocores, memory in bytes).
func topFixture() ([]corev1.Node, map[string]usage, []metricsv1beta1.PodMetrics) {
	node := func(name string, cpu, mem string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Allocatable: resources(cpu, mem)}}
	}
	nodes := []corev1.Node{node("w2", "4", "8Gi"), node("w1", "2", "4Gi"), node("w3", "2", "4Gi")}
	use := map[string]usage{"w1": usageFrom(resources("1500000000n", "3Gi")), "w2": usageFrom(resources("900m", "1073741824"))}
	pods := []metricsv1beta1.PodMetrics{
		podMetrics("kube-system", "dns", container("app", "1000000n", "20Mi")),
		podMetrics("default", "web", container("app", "250000000n", "64Mi"), container("side", "5m", "8Mi")),
		podMetrics("default", "api", container("app", "700m", "300Mi")),
	}
	return nodes, use, pods
}

func TestTopOutput(t *testing.T) {
	nodes, use, pods := topFixture()
	for _, tc := range []struct {
		name  string
		print func(w *bytes.Buffer) error
		want  string
	}{
		{"nodes", func(w *bytes.Buffer) error { return printNodeUsage(w, nodeUsage(nodes, use), topPrint{}) }, `
NAME   CPU(cores)   CPU%        MEMORY(bytes)   MEMORY%
w1     1500m        75%         3072Mi          75%
w2     900m         22%         1024Mi          12%
w3     <unknown>    <unknown>   <unknown>       <unknown>
`},
		{"nodes by memory", func(w *bytes.Buffer) error {
			return printNodeUsage(w, nodeUsage(nodes[:2], use), topPrint{sortBy: "memory"})
		}, `
NAME   CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%
w1     1500m        75%    3072Mi          75%
w2     900m         22%    1024Mi          12%
`},
		{"pods of default", func(w *bytes.Buffer) error { return printPodUsage(w, podUsage(pods[1:]), false, false, topPrint{}) }, `
NAME   CPU(cores)   MEMORY(bytes)
api    700m         300Mi
web    255m         72Mi
`},
		{"pods of every namespace by cpu", func(w *bytes.Buffer) error {
			return printPodUsage(w, podUsage(pods), true, false, topPrint{sortBy: "cpu"})
		}, `
NAMESPACE     NAME   CPU(cores)   MEMORY(bytes)
default       api    700m         300Mi
default       web    255m         72Mi
kube-system   dns    1m           20Mi
`},
		{"no headers", func(w *bytes.Buffer) error {
			return printPodUsage(w, podUsage(pods[2:]), false, false, topPrint{noHeaders: true})
		}, `
api   700m   300Mi
`},
		{"containers", func(w *bytes.Buffer) error { return printPodUsage(w, podUsage(pods), false, true, topPrint{}) }, `
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
		{"name and -l", []string{"top", "nodes", "w1", "-l", "a=b"}, 2, "exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, []string{"HOME=" + t.TempDir()}, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

// FuzzTopMetrics feeds arbitrary metrics answers to the decoder and the
// table code: whatever a server sends, skiff top prints a table or
// reports an error, and never panics.
func FuzzTopMetrics(f *testing.F) {
	f.Add([]byte(`{"kind":"NodeMetricsList","items":[{"metadata":{"name":"w1"},"usage":{"cpu":"5n","memory":"7"}}]}`), false)
	f.Add([]byte(`{"kind":"PodMetricsList","items":[{"metadata":{"name":"web","namespace":"default"},"containers":[{"name":"app","usage":{"cpu":"1","memory":"2Ki"}}]}]}`), false)
	f.Add([]byte(`{"metadata":{"name":"web"},"containers":null}`), true)
	f.Add([]byte(`{"items":[{"usage":{"cpu":"9223372036854775807","memory":"1E"}}]}`), false)
	f.Add([]byte(`[]`), true)
	nodes, _, _ := topFixture()
	f.Fuzz(func(t *testing.T, raw []byte, one bool) {
		var b bytes.Buffer
		var nm metricsv1beta1.NodeMetricsList
		if decodeMetrics(raw, one, &nm) == nil {
			use := map[string]usage{}
			for _, m := range nm.Items {
				use[m.Name] = usageFrom(m.Usage)
			}
			if err := printNodeUsage(&b, nodeUsage(nodes, use), topPrint{sortBy: "cpu"}); err != nil {
				t.Fatal(err)
			}
		}
		var pm metricsv1beta1.PodMetricsList
		if decodeMetrics(raw, one, &pm) == nil {
			if err := printPodUsage(&b, podUsage(pm.Items), true, true, topPrint{sortBy: "memory", noHeaders: true}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
