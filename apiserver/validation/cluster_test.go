package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateNamespace(t *testing.T) {
	terminating := func(n *corev1.Namespace) {
		now := metav1.Now()
		n.DeletionTimestamp = &now
	}
	runCases(t, testNamespace, []tcase[*corev1.Namespace]{
		{name: "valid"},
		{name: "name not a label", mutate: func(n *corev1.Namespace) { n.Name = "team.a" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "name too long", mutate: func(n *corev1.Namespace) { n.Name = "a234567890123456789012345678901234567890123456789012345678901234" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "namespace not allowed", mutate: func(n *corev1.Namespace) { n.Namespace = "default" }, path: "metadata.namespace", typ: field.ErrorTypeForbidden},
		{name: "finalizer not standard", mutate: func(n *corev1.Namespace) { n.Spec.Finalizers = []corev1.FinalizerName{"cleanup"} }, path: "spec.finalizers[0]", typ: field.ErrorTypeInvalid},
		{name: "finalizers may be removed", update: true, mutate: func(n *corev1.Namespace) { n.Spec.Finalizers = []corev1.FinalizerName{} }},
		{name: "name immutable", update: true, mutate: func(n *corev1.Namespace) { n.Name = "team-b" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "no new finalizers while terminating", old: terminating, mutate: func(n *corev1.Namespace) {
			n.Finalizers = append(n.Finalizers, "example.com/late")
		}, path: "metadata.finalizers", typ: field.ErrorTypeForbidden},
		{name: "status Active", status: true},
		{name: "status Terminating without deletion", status: true, mutate: func(n *corev1.Namespace) { n.Status.Phase = corev1.NamespaceTerminating }, path: "status.phase", typ: field.ErrorTypeInvalid},
		{name: "status Active while deleting", status: true, old: terminating, path: "status.phase", typ: field.ErrorTypeInvalid},
	})
}

func TestNamespaceDefaults(t *testing.T) {
	n := testNamespace()
	Default(n)
	if n.Labels[corev1.LabelMetadataName] != "team-a" || len(n.Spec.Finalizers) != 1 || n.Spec.Finalizers[0] != corev1.FinalizerKubernetes || n.Status.Phase != corev1.NamespaceActive {
		t.Fatalf("unexpected namespace defaults: %+v", n)
	}
	now := metav1.Now()
	n = testNamespace()
	n.DeletionTimestamp = &now
	Default(n)
	if n.Spec.Finalizers != nil {
		t.Fatalf("a terminating namespace got finalizers back: %v", n.Spec.Finalizers)
	}
}

func TestValidateNode(t *testing.T) {
	unassigned := func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "", nil }
	runCases(t, testNode, []tcase[*corev1.Node]{
		{name: "valid"},
		{name: "name not a subdomain", mutate: func(n *corev1.Node) { n.Name = "Worker_1" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "namespace not allowed", mutate: func(n *corev1.Node) { n.Namespace = "default" }, path: "metadata.namespace", typ: field.ErrorTypeForbidden},
		{name: "podCIDR invalid", mutate: func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.1.0/33", []string{"10.244.1.0/33"} }, path: "spec.podCIDRs[0]", typ: field.ErrorTypeInvalid},
		{name: "podCIDR must match podCIDRs", mutate: func(n *corev1.Node) { n.Spec.PodCIDR = "10.244.2.0/24" }, path: "spec.podCIDR", typ: field.ErrorTypeInvalid},
		{name: "two IPv4 podCIDRs", mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = append(n.Spec.PodCIDRs, "10.244.2.0/24") }, path: "spec.podCIDRs", typ: field.ErrorTypeInvalid},
		{name: "taint", mutate: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}}
		}},
		{name: "taint effect unsupported", mutate: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "k", Effect: "NoAdmit"}}
		}, path: "spec.taints[0].effect", typ: field.ErrorTypeNotSupported},
		{name: "taint effect required", mutate: func(n *corev1.Node) { n.Spec.Taints = []corev1.Taint{{Key: "k"}} }, path: "spec.taints[0].effect", typ: field.ErrorTypeRequired},
		{name: "taint key invalid", mutate: func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "bad key", Effect: corev1.TaintEffectNoSchedule}}
		}, path: "spec.taints[0].key", typ: field.ErrorTypeInvalid},
		{name: "taints unique by key and effect", mutate: func(n *corev1.Node) {
			t := corev1.Taint{Key: "k", Value: "a", Effect: corev1.TaintEffectNoExecute}
			n.Spec.Taints = []corev1.Taint{t, t}
		}, path: "spec.taints[1]", typ: field.ErrorTypeDuplicate},
		{name: "capacity negative", mutate: func(n *corev1.Node) { n.Status.Capacity[corev1.ResourceCPU] = mustQuantity("-1") }, path: "status.capacity[cpu]", typ: field.ErrorTypeInvalid},
		{name: "podCIDR assigned once", old: unassigned, mutate: func(n *corev1.Node) {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.3.0/24", []string{"10.244.3.0/24"}
		}},
		{name: "podCIDR may not change", update: true, mutate: func(n *corev1.Node) {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.3.0/24", []string{"10.244.3.0/24"}
		}, path: "spec.podCIDRs", typ: field.ErrorTypeForbidden},
		{name: "unschedulable may change", update: true, mutate: func(n *corev1.Node) { n.Spec.Unschedulable = true }},
		{name: "status addresses unique", status: true, mutate: func(n *corev1.Node) {
			n.Status.Addresses = append(n.Status.Addresses, n.Status.Addresses[0])
		}, path: "status.addresses[1]", typ: field.ErrorTypeDuplicate},
	})
}
