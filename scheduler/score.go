package scheduler

import (
	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// maxScore is the best score one scorer gives a node.
const maxScore = 100

// scorer ranks feasible nodes. score writes 0..maxScore per node into out
// and returns false when it has no opinion (every node equal), which
// saves the work of weighting zeros.
type scorer struct {
	name   string
	weight int64
	score  func(c *cycle, nodes []*NodeInfo, out []int64) bool
}

// scorers and their weights are kube-scheduler's default profile:
// TaintToleration 3, NodeAffinity 2, PodTopologySpread 2, InterPodAffinity
// 2, NodeResourcesFit (least allocated) 1, BalancedAllocation 1,
// ImageLocality 1.
var scorers = []scorer{
	{"NodeResourcesLeastAllocated", 1, scoreLeastAllocated},
	{"NodeResourcesBalancedAllocation", 1, scoreBalanced},
	{"NodeAffinity", 2, scoreNodeAffinity},
	{"TaintToleration", 3, scorePreferNoSchedule},
	{"PodTopologySpread", 2, scoreSpread},
	{"InterPodAffinity", 2, scoreInterPodAffinity},
	{"ImageLocality", 1, scoreImageLocality},
}

// fraction returns requested/allocatable, capped at 1.
func fraction(req, alloc int64) float64 {
	if alloc <= 0 || req >= alloc {
		return 1
	}
	return float64(req) / float64(alloc)
}

// scoreLeastAllocated prefers nodes with the most cpu and memory left
// after the pod, each weighted equally.
func scoreLeastAllocated(c *cycle, nodes []*NodeInfo, out []int64) bool {
	for i, n := range nodes {
		cpu := fraction(n.NonZeroRequested.MilliCPU+c.pod.NonZero.MilliCPU, n.Allocatable.MilliCPU)
		mem := fraction(n.NonZeroRequested.Memory+c.pod.NonZero.Memory, n.Allocatable.Memory)
		out[i] = int64((1-cpu)*maxScore/2 + (1-mem)*maxScore/2)
	}
	return true
}

// scoreBalanced prefers nodes whose cpu and memory would be used in equal
// proportion after the pod, so neither runs out while the other idles.
func scoreBalanced(c *cycle, nodes []*NodeInfo, out []int64) bool {
	for i, n := range nodes {
		cpu := fraction(n.NonZeroRequested.MilliCPU+c.pod.NonZero.MilliCPU, n.Allocatable.MilliCPU)
		mem := fraction(n.NonZeroRequested.Memory+c.pod.NonZero.Memory, n.Allocatable.Memory)
		d := cpu - mem
		if d < 0 {
			d = -d
		}
		out[i] = int64((1 - d/2) * maxScore)
	}
	return true
}

// scoreNodeAffinity sums the weights of the preferred node affinity terms
// each node matches, scaled so the best node gets maxScore.
func scoreNodeAffinity(c *cycle, nodes []*NodeInfo, out []int64) bool {
	a := c.pod.Pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return false
	}
	terms, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return false
	}
	for i, n := range nodes {
		out[i] = terms.Score(n.Node)
	}
	normalizeMax(out, false)
	return true
}

// scorePreferNoSchedule prefers nodes with fewer PreferNoSchedule taints
// the pod does not tolerate.
func scorePreferNoSchedule(c *cycle, nodes []*NodeInfo, out []int64) bool {
	found := false
	for i, n := range nodes {
		for j := range n.Node.Spec.Taints {
			t := &n.Node.Spec.Taints[j]
			if t.Effect == v1.TaintEffectPreferNoSchedule &&
				!corev1helpers.TolerationsTolerateTaint(logr.Discard(), c.pod.Pod.Spec.Tolerations, t, false) {
				out[i]++
				found = true
			}
		}
	}
	if !found {
		return false
	}
	normalizeMax(out, true)
	return true
}

// Image locality thresholds, kube-scheduler's: below 23 MB an image is not
// worth moving a pod for; 1000 MB per container is the most that counts.
const (
	imageMinThreshold          = 23 << 20
	imageMaxContainerThreshold = 1000 << 20
)

// scoreImageLocality prefers nodes that already hold the pod's images,
// each image's size scaled by the share of nodes holding it so that an
// image present everywhere does not pull pods together.
func scoreImageLocality(c *cycle, nodes []*NodeInfo, out []int64) bool {
	if len(c.snap.imageNodes) == 0 || c.snap.NumNodes() == 0 {
		return false
	}
	spec := &c.pod.Pod.Spec
	images := make([]string, 0, len(spec.Containers)+len(spec.InitContainers))
	for _, cs := range [][]v1.Container{spec.InitContainers, spec.Containers} {
		for _, ct := range cs {
			images = append(images, normalizeImage(ct.Image))
		}
	}
	total := float64(c.snap.NumNodes())
	hi := int64(imageMaxContainerThreshold * len(images))
	for i, n := range nodes {
		var sum int64
		for _, img := range images {
			if size, ok := n.images[img]; ok {
				sum += int64(float64(size) * float64(c.snap.imageNodes[img]) / total)
			}
		}
		sum = min(max(sum, imageMinThreshold), hi)
		out[i] = maxScore * (sum - imageMinThreshold) / (hi - imageMinThreshold)
	}
	return true
}

// normalizeMax scales out so the largest value becomes maxScore; reverse
// turns "more is worse" into "more is better".
func normalizeMax(out []int64, reverse bool) {
	var hi int64
	for _, v := range out {
		hi = max(hi, v)
	}
	for i, v := range out {
		switch {
		case hi == 0 && reverse:
			out[i] = maxScore
		case hi == 0:
			out[i] = 0
		case reverse:
			out[i] = maxScore - v*maxScore/hi
		default:
			out[i] = v * maxScore / hi
		}
	}
}

// normalizeMinMax scales raw to 0..maxScore into out, lowest to highest.
func normalizeMinMax(raw, out []int64) {
	lo, hi := raw[0], raw[0]
	for _, v := range raw {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i, v := range raw {
		if hi == lo {
			out[i] = 0
		} else {
			out[i] = maxScore * (v - lo) / (hi - lo)
		}
	}
}
