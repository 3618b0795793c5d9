package scheduler

import (
	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Resources is the amount of each resource the scheduler accounts for.
// CPU is in millicores, memory and ephemeral storage in bytes.
type Resources struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	Pods             int64
}

// Add adds o to r.
func (r *Resources) Add(o Resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.Pods += o.Pods
}

// Sub subtracts o from r.
func (r *Resources) Sub(o Resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.Pods -= o.Pods
}

// Default requests used only for scoring pods that request nothing, as
// kube-scheduler does (100 millicores, 200 MiB): otherwise best-effort pods
// would all look free and pile onto one node.
const (
	defaultMilliCPURequest = 100
	defaultMemoryRequest   = 200 << 20
)

// podRequests returns what pod requests, counted as Kubernetes counts it:
// the larger of the sum of app (and restartable init) containers and the
// largest init container, plus pod overhead and pod-level resources
// (k8s.io/component-helpers/resource does that arithmetic; a hand port
// would drift from the API's definition). Pods always count as one pod.
func podRequests(pod *v1.Pod) (exact, nonZero Resources) {
	rl := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	exact = fromList(rl)
	exact.Pods = 1
	nonZero = exact
	if _, ok := rl[v1.ResourceCPU]; !ok {
		nonZero.MilliCPU = defaultMilliCPURequest
	}
	if _, ok := rl[v1.ResourceMemory]; !ok {
		nonZero.Memory = defaultMemoryRequest
	}
	return exact, nonZero
}

// fromList converts a ResourceList to Resources.
func fromList(rl v1.ResourceList) Resources {
	var r Resources
	if q, ok := rl[v1.ResourceCPU]; ok {
		r.MilliCPU = q.MilliValue()
	}
	if q, ok := rl[v1.ResourceMemory]; ok {
		r.Memory = q.Value()
	}
	if q, ok := rl[v1.ResourceEphemeralStorage]; ok {
		r.EphemeralStorage = q.Value()
	}
	if q, ok := rl[v1.ResourcePods]; ok {
		r.Pods = q.Value()
	}
	return r
}
