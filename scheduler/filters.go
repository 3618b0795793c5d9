package scheduler

import (
	"fmt"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// The reasons below are kube-scheduler's own words, so a FailedScheduling
// message reads the same as on any Kubernetes cluster.
const (
	reasonNotReady         = "node(s) were not ready"
	reasonUnschedulable    = "node(s) were unschedulable"
	reasonNodeAffinity     = "node(s) didn't match Pod's node affinity/selector"
	reasonPorts            = "node(s) didn't have free ports for the requested pod ports"
	reasonTooManyPods      = "Too many pods"
	reasonSpread           = "node(s) didn't match pod topology spread constraints"
	reasonSpreadLabel      = "node(s) didn't match pod topology spread constraints (missing required label)"
	reasonExistingAntiAff  = "node(s) didn't satisfy existing pods anti-affinity rules"
	reasonPodAffinity      = "node(s) didn't match pod affinity rules"
	reasonPodAntiAffinity  = "node(s) didn't match pod anti-affinity rules"
	reasonInsufficientFmt  = "Insufficient %s"
	reasonUntoleratedTaint = "node(s) had untolerated taint {%s: %s}"
)

// One-reason answers, shared so a failing node costs no allocation.
// Callers never modify a returned reason slice.
var (
	failNotReady        = []string{reasonNotReady}
	failUnschedulable   = []string{reasonUnschedulable}
	failNodeAffinity    = []string{reasonNodeAffinity}
	failPorts           = []string{reasonPorts}
	failSpread          = []string{reasonSpread}
	failSpreadLabel     = []string{reasonSpreadLabel}
	failExistingAntiAff = []string{reasonExistingAntiAff}
	failPodAffinity     = []string{reasonPodAffinity}
	failPodAntiAffinity = []string{reasonPodAntiAffinity}
)

// filter is one feasibility check. check returns nil when the node fits,
// or the reasons it does not. resolvable says whether evicting pods from
// the node could make it fit (preemption only considers those nodes).
type filter struct {
	name       string
	resolvable bool
	check      func(c *cycle, n *NodeInfo) []string
}

// filters runs in kube-scheduler's order (NodeUnschedulable, TaintToleration,
// NodeAffinity, NodePorts, NodeResourcesFit, PodTopologySpread,
// InterPodAffinity); the first failing filter gives a node's reasons.
var filters = []filter{
	{"NodeReady", false, checkReady},
	{"NodeUnschedulable", false, checkUnschedulable},
	{"TaintToleration", false, checkTaints},
	{"NodeAffinity", false, checkNodeAffinity},
	{"NodePorts", true, checkPorts},
	{"NodeResourcesFit", true, checkResources},
	{"PodTopologySpread", false, checkSpread},
	{"InterPodAffinity", false, checkInterPodAffinity},
}

// checkReady refuses a node whose Ready condition is not True. (Kubernetes
// relies on the node lifecycle controller's not-ready taint for this;
// checking the condition as well keeps Skiff safe whether or not the taint
// is set.)
func checkReady(_ *cycle, n *NodeInfo) []string {
	if !n.ready {
		return failNotReady
	}
	return nil
}

// unschedulableTaint is the taint a cordoned node behaves as if it had; a
// pod tolerating it may still land there, as in Kubernetes.
var unschedulableTaint = v1.Taint{Key: v1.TaintNodeUnschedulable, Effect: v1.TaintEffectNoSchedule}

func checkUnschedulable(c *cycle, n *NodeInfo) []string {
	if !n.Node.Spec.Unschedulable {
		return nil
	}
	if corev1helpers.TolerationsTolerateTaint(logr.Discard(), c.pod.Pod.Spec.Tolerations, &unschedulableTaint, false) {
		return nil
	}
	return failUnschedulable
}

func checkTaints(c *cycle, n *NodeInfo) []string {
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect != v1.TaintEffectNoSchedule && t.Effect != v1.TaintEffectNoExecute {
			continue
		}
		if corev1helpers.TolerationsTolerateTaint(logr.Discard(), c.pod.Pod.Spec.Tolerations, t, false) {
			continue
		}
		return c.taintReason(t)
	}
	return nil
}

// taintReason returns the reason for an untolerated taint, formatted once
// per cycle and taint.
func (c *cycle) taintReason(t *v1.Taint) []string {
	k := v1.Taint{Key: t.Key, Value: t.Value}
	if r, ok := c.taintReasons[k]; ok {
		return r
	}
	if c.taintReasons == nil {
		c.taintReasons = map[v1.Taint][]string{}
	}
	r := []string{fmt.Sprintf(reasonUntoleratedTaint, t.Key, t.Value)}
	c.taintReasons[k] = r
	return r
}

func checkNodeAffinity(c *cycle, n *NodeInfo) []string {
	if !c.hasNodeAffinity {
		return nil
	}
	if ok, _ := c.nodeAffinity.Match(n.Node); ok {
		return nil
	}
	return failNodeAffinity
}

func checkPorts(c *cycle, n *NodeInfo) []string {
	if len(c.pod.Ports) == 0 {
		return nil
	}
	for _, other := range n.Pods {
		for _, a := range other.Ports {
			for _, b := range c.pod.Ports {
				if a.conflicts(b) {
					return failPorts
				}
			}
		}
	}
	return nil
}

// checkResources reports every resource that does not fit, as
// kube-scheduler's NodeResourcesFit does ("Insufficient cpu" and
// "Insufficient memory" may both come from one node).
func checkResources(c *cycle, n *NodeInfo) []string {
	req, used, alloc := c.pod.Requests, n.Requested, n.Allocatable
	var out []string
	if used.Pods+1 > alloc.Pods {
		out = append(out, reasonTooManyPods)
	}
	if req.MilliCPU > 0 && used.MilliCPU+req.MilliCPU > alloc.MilliCPU {
		out = append(out, fmt.Sprintf(reasonInsufficientFmt, v1.ResourceCPU))
	}
	if req.Memory > 0 && used.Memory+req.Memory > alloc.Memory {
		out = append(out, fmt.Sprintf(reasonInsufficientFmt, v1.ResourceMemory))
	}
	if req.EphemeralStorage > 0 && used.EphemeralStorage+req.EphemeralStorage > alloc.EphemeralStorage {
		out = append(out, fmt.Sprintf(reasonInsufficientFmt, v1.ResourceEphemeralStorage))
	}
	return out
}
