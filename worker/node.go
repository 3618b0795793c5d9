package worker

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/internal/buildinfo"
)

// machine is the node's hardware as the worker reports it.
type machine struct {
	CPUMilli    int64
	MemoryBytes int64
}

// readMachine reads the CPU count and /proc/meminfo's MemTotal.
func readMachine() (machine, error) {
	m := machine{CPUMilli: int64(runtime.NumCPU()) * 1000}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return m, fmt.Errorf("read memory size: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return m, fmt.Errorf("read memory size: %w", err)
			}
			m.MemoryBytes = kb * 1024
			return m, nil
		}
	}
	return m, fmt.Errorf("read memory size: no MemTotal in /proc/meminfo")
}

// nodeSpec is what the worker owns in its Node object.
type nodeSpec struct {
	cfg      config.Worker
	machine  machine
	address  string
	hostname string
	port     int32 // the worker's HTTPS port
}

// labels returns the Node's labels: the configured ones plus the
// well-known ones every kubelet sets.
func (n nodeSpec) labels() map[string]string {
	l := map[string]string{}
	for k, v := range n.cfg.Labels {
		l[k] = v
	}
	l[corev1.LabelHostname] = n.cfg.Name
	l[corev1.LabelOSStable] = runtime.GOOS
	l[corev1.LabelArchStable] = runtime.GOARCH
	return l
}

// taints parses the configured taints (validated by config).
func (n nodeSpec) taints() []corev1.Taint {
	var out []corev1.Taint
	for _, t := range n.cfg.Taints {
		k, v, e, err := config.ParseTaint(t)
		if err == nil {
			out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(e)})
		}
	}
	return out
}

// capacity returns capacity and allocatable (capacity minus reserved,
// never negative).
func (n nodeSpec) capacity() (capacity, allocatable corev1.ResourceList) {
	cpu := *resource.NewMilliQuantity(n.machine.CPUMilli, resource.DecimalSI)
	mem := *resource.NewQuantity(n.machine.MemoryBytes, resource.BinarySI)
	pods := *resource.NewQuantity(int64(n.cfg.MaxPods), resource.DecimalSI)
	capacity = corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem, corev1.ResourcePods: pods}
	sub := func(q resource.Quantity, reserved string) resource.Quantity {
		out := q.DeepCopy()
		if r, err := resource.ParseQuantity(reserved); err == nil {
			out.Sub(r)
		}
		if out.Sign() < 0 {
			out.Set(0)
		}
		return out
	}
	allocatable = corev1.ResourceList{
		corev1.ResourceCPU:    sub(cpu, n.cfg.Reserved.CPU),
		corev1.ResourceMemory: sub(mem, n.cfg.Reserved.Memory),
		corev1.ResourcePods:   pods,
	}
	return capacity, allocatable
}

// status returns the node status the worker reports, with conditions as of
// now; runtimeVersion is empty and runtimeErr set when the runtime is
// unreachable, which makes the node NotReady.
func (n nodeSpec) status(runtimeVersion string, runtimeErr error, now metav1.Time) corev1.NodeStatus {
	capacity, allocatable := n.capacity()
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: "KubeletReady", Message: "skiff worker is posting ready status",
	}
	if runtimeErr != nil {
		ready.Status, ready.Reason = corev1.ConditionFalse, "ContainerRuntimeUnavailable"
		ready.Message = runtimeErr.Error()
	}
	conds := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		ready,
	}
	for i := range conds {
		conds[i].LastHeartbeatTime, conds[i].LastTransitionTime = now, now
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: allocatable,
		Conditions:  conds,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.address},
			{Type: corev1.NodeHostName, Address: n.hostname},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: n.port}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               readMachineID(),
			KernelVersion:           kernelVersion(),
			OperatingSystem:         runtime.GOOS,
			Architecture:            runtime.GOARCH,
			ContainerRuntimeVersion: runtimeVersion,
			KubeletVersion:          kubeletVersion(),
			KubeProxyVersion:        "",
			OSImage:                 "skiff",
		},
		Phase: corev1.NodeRunning,
	}
}

// kubeletVersion is what the Node reports as its kubelet version: the
// Kubernetes API version Skiff speaks, with Skiff's own version after it.
func kubeletVersion() string {
	return "v1.37.2-skiff+" + buildinfo.Get().GitVersion
}

func readMachineID() string {
	b, _ := os.ReadFile("/etc/machine-id")
	return strings.TrimSpace(string(b))
}

func kernelVersion() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// mergeStatus returns old with the worker's view new applied, keeping
// each condition's transition time when its status did not change and its
// heartbeat when nothing about it changed, so that an unchanged status
// compares equal and is not written.
func mergeStatus(old, new corev1.NodeStatus) corev1.NodeStatus {
	out := old.DeepCopy()
	out.Capacity, out.Allocatable = new.Capacity, new.Allocatable
	out.Addresses, out.DaemonEndpoints, out.NodeInfo, out.Phase = new.Addresses, new.DaemonEndpoints, new.NodeInfo, new.Phase
	var conds []corev1.NodeCondition
	for _, c := range new.Conditions {
		for _, o := range old.Conditions {
			if o.Type != c.Type {
				continue
			}
			if o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
				if o.Reason == c.Reason && o.Message == c.Message {
					c.LastHeartbeatTime = o.LastHeartbeatTime
				}
			}
		}
		conds = append(conds, c)
	}
	// Conditions other components own (none today) are kept.
	for _, o := range old.Conditions {
		if !hasCondition(conds, o.Type) {
			conds = append(conds, o)
		}
	}
	out.Conditions = conds
	return *out
}

func hasCondition(cs []corev1.NodeCondition, t corev1.NodeConditionType) bool {
	for _, c := range cs {
		if c.Type == t {
			return true
		}
	}
	return false
}

// ensureNode creates the Node, or brings an existing one's labels, taints
// and status up to date. It returns the Node as stored.
func (w *Worker) ensureNode(ctx context.Context) (*corev1.Node, error) {
	nodes := w.client.CoreV1().Nodes()
	now := metav1.Now()
	version, verr := w.runtimeVersion(ctx)
	want := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: w.cfg.Name, Labels: w.node.labels()},
		Spec:       corev1.NodeSpec{Taints: w.node.taints()},
	}
	n, err := nodes.Get(ctx, w.cfg.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		n, err = nodes.Create(ctx, want, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create node %s: %w", w.cfg.Name, err)
		}
		if err != nil {
			return w.ensureNode(ctx)
		}
	case err != nil:
		return nil, fmt.Errorf("get node %s: %w", w.cfg.Name, err)
	default:
		upd := n.DeepCopy()
		if upd.Labels == nil {
			upd.Labels = map[string]string{}
		}
		for k, v := range want.Labels {
			upd.Labels[k] = v
		}
		upd.Spec.Taints = withTaints(n.Spec.Taints, want.Spec.Taints)
		if !equality.Semantic.DeepEqual(upd.Labels, n.Labels) || !equality.Semantic.DeepEqual(upd.Spec.Taints, n.Spec.Taints) {
			if n, err = nodes.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				return nil, fmt.Errorf("update node %s: %w", w.cfg.Name, err)
			}
		}
	}
	n.Status = mergeStatus(n.Status, w.node.status(version, verr, now))
	n, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update node %s status: %w", w.cfg.Name, err)
	}
	return n, nil
}

// withTaints returns have plus each configured taint it lacks (same key
// and effect). Taints are the worker's to add, not to take away: others
// were put there by an operator (kubectl taint) or a controller (the node
// lifecycle's unreachable taint), and a worker restart keeps them. A taint
// removed from the configuration is removed from the Node by hand.
func withTaints(have, configured []corev1.Taint) []corev1.Taint {
	out := slices.Clone(have)
	for _, c := range configured {
		if !slices.ContainsFunc(out, func(h corev1.Taint) bool { return h.Key == c.Key && h.Effect == c.Effect }) {
			out = append(out, c)
		}
	}
	return out
}
