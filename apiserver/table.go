package apiserver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// column is one table column and how to compute its cell.
type column struct {
	def  metav1.TableColumnDefinition
	cell func(runtime.Object) any
	// afterAge places a priority-0 column after Age.
	afterAge bool
}

func col(name, typ string, priority int32, cell func(runtime.Object) any) column {
	return column{def: metav1.TableColumnDefinition{Name: name, Type: typ, Priority: priority}, cell: cell}
}

// writeTable answers a request for a metav1.Table (what kubectl get asks
// for): per-resource columns like kube-apiserver's, with each row
// carrying the object's metadata.
func (h *handler) writeTable(items []runtime.Object, rv, cont string) error {
	now := h.api.now()
	// Columns in kube-apiserver's order: Name, the resource's own
	// columns, Age, then those kubectl shows after Age (a node's
	// Version) and the wide ones (priority 1).
	cols := []column{{def: metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name"}, cell: func(o runtime.Object) any { return metaOf(o).GetName() }}}
	var after []column
	for _, c := range tableColumns(h.res.GVR.Resource) {
		if c.afterAge || c.def.Priority > 0 {
			after = append(after, c)
		} else {
			cols = append(cols, c)
		}
	}
	cols = append(cols, col("Age", "string", 0, func(o runtime.Object) any {
		return duration.HumanDuration(now.Sub(metaOf(o).GetCreationTimestamp().Time))
	}))
	cols = append(cols, after...)
	t := &metav1.Table{}
	t.ResourceVersion, t.Continue = rv, cont
	for _, c := range cols {
		t.ColumnDefinitions = append(t.ColumnDefinitions, c.def)
	}
	includeFull := h.r.URL.Query().Get("includeObject") == "Object"
	for _, obj := range items {
		row := metav1.TableRow{}
		for _, c := range cols {
			row.Cells = append(row.Cells, c.cell(obj))
		}
		var embedded runtime.Object = obj
		if !includeFull {
			m := metaOf(obj)
			pom := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
				Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(),
				CreationTimestamp: m.GetCreationTimestamp(), Labels: m.GetLabels(), Annotations: m.GetAnnotations(),
				DeletionTimestamp: m.GetDeletionTimestamp(), OwnerReferences: m.GetOwnerReferences(),
			}}
			pom.APIVersion, pom.Kind = "meta.k8s.io/v1", "PartialObjectMetadata"
			embedded = pom
		} else {
			setTypeMeta(obj)
		}
		raw, err := json.Marshal(embedded)
		if err != nil {
			return err
		}
		row.Object = runtime.RawExtension{Raw: raw}
		t.Rows = append(t.Rows, row)
	}
	if t.Rows == nil {
		t.Rows = []metav1.TableRow{}
	}
	t.APIVersion, t.Kind = "meta.k8s.io/v1", "Table"
	h.api.writeObject(h.w, h.r, http.StatusOK, t)
	return nil
}

// tableColumns are the columns between Name and Age.
func tableColumns(resource string) []column {
	switch resource {
	case "pods":
		return []column{
			col("Ready", "string", 0, func(o runtime.Object) any {
				p := o.(*corev1.Pod)
				ready := 0
				for _, s := range p.Status.ContainerStatuses {
					if s.Ready {
						ready++
					}
				}
				return fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers))
			}),
			col("Status", "string", 0, func(o runtime.Object) any {
				p := o.(*corev1.Pod)
				if p.DeletionTimestamp != nil {
					return "Terminating"
				}
				if p.Status.Reason != "" {
					return p.Status.Reason
				}
				return string(p.Status.Phase)
			}),
			col("Restarts", "integer", 0, func(o runtime.Object) any {
				var n int32
				for _, s := range o.(*corev1.Pod).Status.ContainerStatuses {
					n += s.RestartCount
				}
				return int64(n)
			}),
			col("IP", "string", 1, func(o runtime.Object) any { return orNone(o.(*corev1.Pod).Status.PodIP) }),
			col("Node", "string", 1, func(o runtime.Object) any { return orNone(o.(*corev1.Pod).Spec.NodeName) }),
			col("Nominated Node", "string", 1, func(o runtime.Object) any { return orNone(o.(*corev1.Pod).Status.NominatedNodeName) }),
			col("Readiness Gates", "string", 1, func(o runtime.Object) any { return readinessGates(o.(*corev1.Pod)) }),
		}
	case "deployments":
		return []column{
			col("Ready", "string", 0, func(o runtime.Object) any {
				d := o.(*appsv1.Deployment)
				return fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas))
			}),
			col("Up-to-date", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.Deployment).Status.UpdatedReplicas) }),
			col("Available", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.Deployment).Status.AvailableReplicas) }),
			col("Containers", "string", 1, func(o runtime.Object) any { return containerNames(o.(*appsv1.Deployment).Spec.Template.Spec) }),
			col("Images", "string", 1, func(o runtime.Object) any { return containerImages(o.(*appsv1.Deployment).Spec.Template.Spec) }),
			col("Selector", "string", 1, func(o runtime.Object) any { return selectorString(o.(*appsv1.Deployment).Spec.Selector) }),
		}
	case "replicasets":
		return []column{
			col("Desired", "integer", 0, func(o runtime.Object) any { return int64(replicas(o.(*appsv1.ReplicaSet).Spec.Replicas)) }),
			col("Current", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.ReplicaSet).Status.Replicas) }),
			col("Ready", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.ReplicaSet).Status.ReadyReplicas) }),
			col("Containers", "string", 1, func(o runtime.Object) any { return containerNames(o.(*appsv1.ReplicaSet).Spec.Template.Spec) }),
			col("Images", "string", 1, func(o runtime.Object) any { return containerImages(o.(*appsv1.ReplicaSet).Spec.Template.Spec) }),
			col("Selector", "string", 1, func(o runtime.Object) any { return selectorString(o.(*appsv1.ReplicaSet).Spec.Selector) }),
		}
	case "services":
		return []column{
			col("Type", "string", 0, func(o runtime.Object) any {
				// An empty type and protocol mean the API's defaults.
				return cmp.Or(string(o.(*corev1.Service).Spec.Type), string(corev1.ServiceTypeClusterIP))
			}),
			col("Cluster-IP", "string", 0, func(o runtime.Object) any { return orNone(o.(*corev1.Service).Spec.ClusterIP) }),
			col("External-IP", "string", 0, func(o runtime.Object) any { return "<none>" }),
			col("Port(s)", "string", 0, func(o runtime.Object) any {
				var ps []string
				for _, p := range o.(*corev1.Service).Spec.Ports {
					s := strconv.Itoa(int(p.Port))
					if p.NodePort != 0 {
						s += ":" + strconv.Itoa(int(p.NodePort))
					}
					ps = append(ps, s+"/"+cmp.Or(string(p.Protocol), string(corev1.ProtocolTCP)))
				}
				return orNone(strings.Join(ps, ","))
			}),
			col("Selector", "string", 1, func(o runtime.Object) any {
				return orNone(labels.SelectorFromSet(o.(*corev1.Service).Spec.Selector).String())
			}),
		}
	case "nodes":
		return []column{
			col("Status", "string", 0, func(o runtime.Object) any {
				n := o.(*corev1.Node)
				st := "Unknown"
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady {
						st = map[corev1.ConditionStatus]string{corev1.ConditionTrue: "Ready", corev1.ConditionFalse: "NotReady"}[c.Status]
						if st == "" {
							st = "Unknown"
						}
					}
				}
				if n.Spec.Unschedulable {
					st += ",SchedulingDisabled"
				}
				return st
			}),
			col("Roles", "string", 0, func(o runtime.Object) any { return nodeRoles(o.(*corev1.Node)) }),
			{def: metav1.TableColumnDefinition{Name: "Version", Type: "string"}, afterAge: true, cell: func(o runtime.Object) any {
				return o.(*corev1.Node).Status.NodeInfo.KubeletVersion
			}},
			col("Internal-IP", "string", 1, func(o runtime.Object) any { return nodeAddress(o.(*corev1.Node), corev1.NodeInternalIP) }),
			col("External-IP", "string", 1, func(o runtime.Object) any { return nodeAddress(o.(*corev1.Node), corev1.NodeExternalIP) }),
			col("OS-Image", "string", 1, func(o runtime.Object) any { return orUnknown(o.(*corev1.Node).Status.NodeInfo.OSImage) }),
			col("Kernel-Version", "string", 1, func(o runtime.Object) any { return orUnknown(o.(*corev1.Node).Status.NodeInfo.KernelVersion) }),
			col("Container-Runtime", "string", 1, func(o runtime.Object) any {
				return orUnknown(o.(*corev1.Node).Status.NodeInfo.ContainerRuntimeVersion)
			}),
		}
	case "namespaces":
		return []column{col("Status", "string", 0, func(o runtime.Object) any { return string(o.(*corev1.Namespace).Status.Phase) })}
	case "configmaps":
		return []column{col("Data", "integer", 0, func(o runtime.Object) any {
			c := o.(*corev1.ConfigMap)
			return int64(len(c.Data) + len(c.BinaryData))
		})}
	case "secrets":
		return []column{
			col("Type", "string", 0, func(o runtime.Object) any { return string(o.(*corev1.Secret).Type) }),
			col("Data", "integer", 0, func(o runtime.Object) any { return int64(len(o.(*corev1.Secret).Data)) }),
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

func containerNames(spec corev1.PodSpec) string {
	var out []string
	for _, c := range spec.Containers {
		out = append(out, c.Name)
	}
	return strings.Join(out, ",")
}

func containerImages(spec corev1.PodSpec) string {
	var out []string
	for _, c := range spec.Containers {
		out = append(out, c.Image)
	}
	return strings.Join(out, ",")
}

// selectorString prints a label selector as kubectl does ("<none>" for
// none).
func selectorString(ls *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil || ls == nil {
		return "<none>"
	}
	return orNone(sel.String())
}

// nodeRoles lists the node-role.kubernetes.io/ROLE labels, as kubectl.
func nodeRoles(n *corev1.Node) string {
	var roles []string
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				roles = append(roles, r)
			}
		case k == "kubernetes.io/role" && v != "":
			roles = append(roles, v)
		}
	}
	slices.Sort(roles)
	return orNone(strings.Join(roles, ","))
}

func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

// readinessGates is kubectl's "READY/TOTAL" of a pod's readiness gates.
func readinessGates(p *corev1.Pod) string {
	if len(p.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	ready := 0
	for _, g := range p.Spec.ReadinessGates {
		for _, c := range p.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(p.Spec.ReadinessGates))
}
