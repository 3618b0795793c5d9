package cli

import (
	"strings"
	"testing"
	"time"
)

// TestBenchSchedulerOptions checks bad flags are refused naming the flag.
func TestBenchSchedulerOptions(t *testing.T) {
	good := benchSchedOptions{nodes: 10, pods: 10, clients: 1, zones: 3, namespace: "default", timeout: time.Minute}
	tests := []struct {
		name string
		edit func(*benchSchedOptions)
		want string // "" when valid
	}{
		{"valid", func(*benchSchedOptions) {}, ""},
		{"no nodes", func(o *benchSchedOptions) { o.nodes = 0 }, "--nodes"},
		{"no pods", func(o *benchSchedOptions) { o.pods = 0 }, "--pods"},
		{"no clients", func(o *benchSchedOptions) { o.clients = 0 }, "--clients"},
		{"taint over 100", func(o *benchSchedOptions) { o.taintPercent = 101 }, "--taint-percent"},
		{"no zones", func(o *benchSchedOptions) { o.zones = 0 }, "--zones"},
		{"no timeout", func(o *benchSchedOptions) { o.timeout = 0 }, "--timeout"},
		{"no namespace", func(o *benchSchedOptions) { o.namespace = "" }, "--namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			err := o.validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("validate = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestBenchSchedulerObjects checks the run's nodes: the asked share is
// tainted, spread evenly, and zones rotate; pods spread by zone on request.
func TestBenchSchedulerObjects(t *testing.T) {
	r := benchSchedRun{id: "abcd", o: benchSchedOptions{nodes: 5000, zones: 3, taintPercent: 10, spreadZones: true}}
	tainted, zones := 0, map[string]int{}
	for i := range r.o.nodes {
		n := r.node(i)
		if len(n.Spec.Taints) > 0 {
			tainted++
		}
		zones[n.Labels["topology.kubernetes.io/zone"]]++
		if n.Labels[benchLabel] != "abcd" {
			t.Fatalf("node %s lacks the run label", n.Name)
		}
	}
	if tainted != 500 {
		t.Errorf("%d nodes tainted, want 500", tainted)
	}
	if len(zones) != 3 {
		t.Errorf("zones %v, want 3", zones)
	}
	if p := r.pod(7); len(p.Spec.TopologySpreadConstraints) != 1 || p.Labels[benchLabel] != "abcd" {
		t.Errorf("pod %+v: want one spread constraint and the run label", p.ObjectMeta)
	}
}
