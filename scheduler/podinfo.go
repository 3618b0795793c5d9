package scheduler

import (
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// PodInfo is a pod with what placement derives from it, computed once.
// A PodInfo is immutable after NewPodInfo; a pod update makes a new one.
type PodInfo struct {
	Pod      *v1.Pod
	Key      string // namespace/name
	Priority int32
	// Requests is what the pod counts against a node's allocatable;
	// NonZero is the same with kube-scheduler's defaults for scoring.
	Requests, NonZero Resources
	Ports             []hostPort
	// Workload identifies the pod's workload for default spreading: the
	// controller owner's UID, or "" for a pod without one.
	Workload string

	requiredAffinity      []affinityTerm
	requiredAntiAffinity  []affinityTerm
	preferredAffinity     []affinityTerm
	preferredAntiAffinity []affinityTerm
}

// hostPort is one host port a pod's container binds.
type hostPort struct {
	IP       string
	Protocol v1.Protocol
	Port     int32
}

// conflicts reports whether two host ports cannot share a node: the same
// protocol and port, and the same IP or either on all addresses.
func (a hostPort) conflicts(b hostPort) bool {
	if a.Port != b.Port || a.Protocol != b.Protocol {
		return false
	}
	return a.IP == b.IP || isAnyIP(a.IP) || isAnyIP(b.IP)
}

func isAnyIP(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }

// affinityTerm is a pod (anti-)affinity term with its selector parsed.
type affinityTerm struct {
	namespaces  sets.Set[string] // nil with allNamespaces
	allNS       bool
	selector    labels.Selector
	topologyKey string
	weight      int32
}

// matches reports whether pod is selected by the term.
func (t *affinityTerm) matches(pod *v1.Pod) bool {
	if !t.allNS && !t.namespaces.Has(pod.Namespace) {
		return false
	}
	return t.selector.Matches(labels.Set(pod.Labels))
}

// NewPodInfo derives a PodInfo from pod. Terms whose selector does not
// parse are dropped (the API validates them; a term the scheduler cannot
// read must not block every node).
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Key: pod.Namespace + "/" + pod.Name, Priority: corev1helpers.PodPriority(pod)}
	pi.Requests, pi.NonZero = podRequests(pod)
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = v1.ProtocolTCP
				}
				pi.Ports = append(pi.Ports, hostPort{IP: p.HostIP, Protocol: proto, Port: p.HostPort})
			}
		}
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		pi.Workload = string(ref.UID)
		if pi.Workload == "" {
			pi.Workload = ref.Kind + "/" + ref.Name
		}
	}
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			pi.requiredAffinity = requiredTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.preferredAffinity = preferredTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pi.requiredAntiAffinity = requiredTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.preferredAntiAffinity = preferredTerms(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	return pi
}

func requiredTerms(pod *v1.Pod, terms []v1.PodAffinityTerm) []affinityTerm {
	var out []affinityTerm
	for i := range terms {
		if t, ok := newAffinityTerm(pod, &terms[i], 1); ok {
			out = append(out, t)
		}
	}
	return out
}

func preferredTerms(pod *v1.Pod, terms []v1.WeightedPodAffinityTerm) []affinityTerm {
	var out []affinityTerm
	for i := range terms {
		if t, ok := newAffinityTerm(pod, &terms[i].PodAffinityTerm, terms[i].Weight); ok {
			out = append(out, t)
		}
	}
	return out
}

// newAffinityTerm parses one term. The namespaces are the listed ones, or
// the pod's own when none are listed and there is no namespace selector;
// an empty namespace selector means every namespace. A non-empty namespace
// selector would need namespace labels, which the scheduler does not
// watch: such a term matches only its listed namespaces.
func newAffinityTerm(pod *v1.Pod, t *v1.PodAffinityTerm, weight int32) (affinityTerm, bool) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil || t.TopologyKey == "" {
		return affinityTerm{}, false
	}
	at := affinityTerm{selector: sel, topologyKey: t.TopologyKey, weight: weight, namespaces: sets.New(t.Namespaces...)}
	switch {
	case t.NamespaceSelector != nil && len(t.NamespaceSelector.MatchLabels) == 0 && len(t.NamespaceSelector.MatchExpressions) == 0:
		at.allNS = true
	case len(t.Namespaces) == 0 && t.NamespaceSelector == nil:
		at.namespaces.Insert(pod.Namespace)
	}
	return at, true
}

// hasAffinity reports whether the pod carries any pod (anti-)affinity term.
func (pi *PodInfo) hasAffinity() bool {
	return len(pi.requiredAffinity)+len(pi.requiredAntiAffinity)+len(pi.preferredAffinity)+len(pi.preferredAntiAffinity) > 0
}
