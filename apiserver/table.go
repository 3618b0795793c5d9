package apiserver

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// column is one table column and how to compute its cell.
type column struct {
	def  metav1.TableColumnDefinition
	cell func(runtime.Object) any
}

func col(name, typ string, priority int32, cell func(runtime.Object) any) column {
	return column{def: metav1.TableColumnDefinition{Name: name, Type: typ, Priority: priority}, cell: cell}
}

// writeTable answers a request for a metav1.Table (what kubectl get asks
// for): per-resource columns like kube-apiserver's, with each row
// carrying the object's metadata.
func (h *handler) writeTable(items []runtime.Object, rv, cont string) error {
	now := h.api.now()
	cols := append([]column{{def: metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name"}, cell: func(o runtime.Object) any { return metaOf(o).GetName() }}}, tableColumns(h.res.GVR.Resource)...)
	cols = append(cols, col("Age", "string", 0, func(o runtime.Object) any {
		return duration.HumanDuration(now.Sub(metaOf(o).GetCreationTimestamp().Time))
	}))
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
		}
	case "deployments":
		return []column{
			col("Ready", "string", 0, func(o runtime.Object) any {
				d := o.(*appsv1.Deployment)
				return fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas))
			}),
			col("Up-to-date", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.Deployment).Status.UpdatedReplicas) }),
			col("Available", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.Deployment).Status.AvailableReplicas) }),
		}
	case "replicasets":
		return []column{
			col("Desired", "integer", 0, func(o runtime.Object) any { return int64(replicas(o.(*appsv1.ReplicaSet).Spec.Replicas)) }),
			col("Current", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.ReplicaSet).Status.Replicas) }),
			col("Ready", "integer", 0, func(o runtime.Object) any { return int64(o.(*appsv1.ReplicaSet).Status.ReadyReplicas) }),
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
			col("Version", "string", 0, func(o runtime.Object) any { return o.(*corev1.Node).Status.NodeInfo.KubeletVersion }),
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
