package testcluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// schedNode is a Ready node with the given cpu (millicores) and 4 GiB.
func schedNode(name string, milliCPU int64, opts ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(milliCPU, resource.DecimalSI),
				corev1.ResourceMemory: resource.MustParse("4Gi"),
				corev1.ResourcePods:   resource.MustParse("110"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
		},
	}
	n.Status.Capacity = n.Status.Allocatable.DeepCopy()
	for _, o := range opts {
		o(n)
	}
	return n
}

// createNodes creates nodes through the API, with their status (a
// status written at create is kept for nodes, as in Kubernetes; the
// status update covers a server that drops it).
func createNodes(t *testing.T, ctx context.Context, kc kubernetes.Interface, nodes ...*corev1.Node) {
	t.Helper()
	for _, n := range nodes {
		got, err := kc.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create node %s: %v", n.Name, err)
		}
		if len(got.Status.Conditions) == 0 {
			got.Status = n.Status
			if _, err := kc.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("node %s status: %v", n.Name, err)
			}
		}
	}
}

// schedPod is a pod requesting milliCPU.
func schedPod(ns, name string, milliCPU int64) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewMilliQuantity(milliCPU, resource.DecimalSI)}}}}},
	}
}

// waitPods polls the namespace's pods until cond holds for the list.
func waitPods(t *testing.T, ctx context.Context, kc kubernetes.Interface, ns, what string, cond func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var last []corev1.Pod
	err := testcluster.WaitFor(ctx, func() bool {
		l, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		last = l.Items
		return cond(l.Items)
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; pods: %s", what, err, describePods(last))
	}
	return last
}

func describePods(pods []corev1.Pod) string {
	s := ""
	for _, p := range pods {
		s += fmt.Sprintf("\n  %s node=%q", p.Name, p.Spec.NodeName)
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled {
				s += fmt.Sprintf(" scheduled=%s %s", c.Status, c.Message)
			}
		}
	}
	return s
}

func allBound(pods []corev1.Pod) bool {
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			return false
		}
	}
	return len(pods) > 0
}

// checkNoOvercommit fails if the pods bound to any node request more cpu
// than it has.
func checkNoOvercommit(t *testing.T, nodes []*corev1.Node, pods []corev1.Pod) map[string]int {
	t.Helper()
	used, count := map[string]int64{}, map[string]int{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			used[p.Spec.NodeName] += p.Spec.Containers[0].Resources.Requests.Cpu().MilliValue()
			count[p.Spec.NodeName]++
		}
	}
	for _, n := range nodes {
		if alloc := n.Status.Allocatable.Cpu().MilliValue(); used[n.Name] > alloc {
			t.Errorf("node %s overcommitted: %dm requested of %dm", n.Name, used[n.Name], alloc)
		}
	}
	return count
}

// The scheduler tests use the scheduler every server registers as a
// leader component (server/components.go): it runs on the Raft leader
// with the seam's fenced client, as in production.

// TestSchedulerBindsPods runs the scheduler in a real three-server
// cluster: 40 pods are bound across 4 nodes through pods/binding with no
// node overcommitted (they fill the cluster exactly), a 41st pod that
// fits nowhere is reported Unschedulable, and a node added later lets it
// bind (the node event wakes it from its wait).
func TestSchedulerBindsPods(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 120*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubeClient(t, c, leader)
	ns := kubeNamespace(t, ctx, kc)
	var nodes []*corev1.Node
	for i := range 4 {
		nodes = append(nodes, schedNode(fmt.Sprintf("worker-%d", i), 1000))
	}
	createNodes(t, ctx, kc, nodes...)

	for i := range 40 {
		if _, err := kc.CoreV1().Pods(ns).Create(ctx, schedPod(ns, fmt.Sprintf("p%02d", i), 100), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pods := waitPods(t, ctx, kc, ns, "40 pods bound", allBound)
	for node, k := range checkNoOvercommit(t, nodes, pods) {
		if k != 10 {
			t.Errorf("node %s holds %d pods, want 10 (the cluster is exactly full)", node, k)
		}
	}
	for _, p := range pods {
		if cond := podScheduled(&p); cond == nil || cond.Status != corev1.ConditionTrue {
			t.Errorf("pod %s bound without PodScheduled=True: %+v", p.Name, cond)
		}
	}

	if _, err := kc.CoreV1().Pods(ns).Create(ctx, schedPod(ns, "extra", 100), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const want = "0/4 nodes are available: 4 Insufficient cpu."
	waitPods(t, ctx, kc, ns, "extra reported unschedulable", func(ps []corev1.Pod) bool {
		return unschedulableWith(ps, "extra", want)
	})
	more := schedNode("worker-4", 1000)
	createNodes(t, ctx, kc, more)
	pods = waitPods(t, ctx, kc, ns, "extra bound to the new node", allBound)
	checkNoOvercommit(t, append(nodes, more), pods)
	for _, p := range pods {
		if p.Name == "extra" && p.Spec.NodeName != "worker-4" {
			t.Errorf("extra bound to %s, want worker-4", p.Spec.NodeName)
		}
	}
}

func podScheduled(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodScheduled {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func unschedulableWith(pods []corev1.Pod, name, msg string) bool {
	for _, p := range pods {
		if p.Name != name {
			continue
		}
		c := podScheduled(&p)
		return p.Spec.NodeName == "" && c != nil && c.Status == corev1.ConditionFalse &&
			c.Reason == corev1.PodReasonUnschedulable && c.Message == msg
	}
	return false
}

// TestSchedulerUnschedulableMessage checks a mixed cluster (three nodes
// too small, two tainted) gives the pod kube-scheduler's message in its
// PodScheduled condition and in a FailedScheduling event.
func TestSchedulerUnschedulableMessage(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 120*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubeClient(t, c, leader)
	ns := kubeNamespace(t, ctx, kc)
	gpu := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
	}
	createNodes(t, ctx, kc, schedNode("small-0", 500), schedNode("small-1", 500), schedNode("small-2", 500),
		schedNode("gpu-0", 8000, gpu), schedNode("gpu-1", 8000, gpu))
	if _, err := kc.CoreV1().Pods(ns).Create(ctx, schedPod(ns, "big", 1000), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// kube-scheduler sorts the "count reason" strings, so "2 node(s)..."
	// comes before "3 Insufficient cpu".
	const want = "0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: gpu}, 3 Insufficient cpu."
	waitPods(t, ctx, kc, ns, "the Unschedulable condition", func(ps []corev1.Pod) bool { return unschedulableWith(ps, "big", want) })
	err = testcluster.WaitFor(ctx, func() bool {
		evs, err := kc.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Reason == "FailedScheduling" && e.InvolvedObject.Name == "big" && e.Message == want && e.Type == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no FailedScheduling event with the message: %v", err)
	}
}

// TestSchedulerCordon checks a cordoned node gets no new pods, and that
// pods for another scheduler are left alone.
func TestSchedulerCordon(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 120*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubeClient(t, c, leader)
	ns := kubeNamespace(t, ctx, kc)
	createNodes(t, ctx, kc, schedNode("a", 4000), schedNode("b", 4000), schedNode("c", 4000))

	n, err := kc.CoreV1().Nodes().Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Spec.Unschedulable = true
	if _, err := kc.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := schedPod(ns, "other-scheduler", 10)
	other.Spec.SchedulerName = "someone-else"
	if _, err := kc.CoreV1().Pods(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := kc.CoreV1().Pods(ns).Create(ctx, schedPod(ns, fmt.Sprintf("p%02d", i), 10), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pods := waitPods(t, ctx, kc, ns, "our 20 pods bound", func(ps []corev1.Pod) bool {
		k := 0
		for _, p := range ps {
			if p.Spec.NodeName != "" {
				k++
			}
		}
		return k == 20
	})
	for _, p := range pods {
		switch {
		case p.Name == "other-scheduler" && p.Spec.NodeName != "":
			t.Errorf("pod of another scheduler was bound to %s", p.Spec.NodeName)
		case p.Spec.NodeName == "a":
			t.Errorf("pod %s bound to cordoned node a", p.Name)
		}
	}
}

// TestSchedulerPreemption fills a node with a low-priority pod, then asks
// for a high-priority pod that fits only in its place: the low one is
// deleted gracefully, the high one is nominated to the node, and once the
// deletion completes (here by the test, as a worker would) it is bound
// there. A pod of equal priority is never evicted.
func TestSchedulerPreemption(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 120*time.Second)
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubeClient(t, c, leader)
	ns := kubeNamespace(t, ctx, kc)
	createNodes(t, ctx, kc, schedNode("only", 1000))
	withPriority := func(p *corev1.Pod, v int32) *corev1.Pod { p.Spec.Priority = &v; return p }
	for _, p := range []*corev1.Pod{withPriority(schedPod(ns, "low", 600), 1), withPriority(schedPod(ns, "peer", 300), 10)} {
		if _, err := kc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitPods(t, ctx, kc, ns, "low and peer bound", allBound)
	if _, err := kc.CoreV1().Pods(ns).Create(ctx, withPriority(schedPod(ns, "high", 600), 10), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, ctx, kc, ns, "low evicted and high nominated", func(ps []corev1.Pod) bool {
		var lowLeaving, nominated bool
		for _, p := range ps {
			switch p.Name {
			case "low":
				lowLeaving = p.DeletionTimestamp != nil
			case "high":
				nominated = p.Status.NominatedNodeName == "only"
			}
		}
		return lowLeaving && nominated
	})
	for _, p := range pods {
		if p.Name == "peer" && p.DeletionTimestamp != nil {
			t.Fatal("a pod of equal priority was evicted")
		}
	}
	// The node's worker would confirm the deletion once the containers
	// stopped; the test does it.
	zero := int64(0)
	if err := kc.CoreV1().Pods(ns).Delete(ctx, "low", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	waitPods(t, ctx, kc, ns, "high bound in low's place", func(ps []corev1.Pod) bool {
		for _, p := range ps {
			if p.Name == "high" {
				return p.Spec.NodeName == "only"
			}
		}
		return false
	})
}
