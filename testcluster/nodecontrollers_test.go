package testcluster_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/testcluster"
)

// TestLeaderRunsNodeComponents checks the wiring of node IPAM and the
// endpoints controller into the leadership seam: with nothing but the
// servers running, a new Node gets a pod CIDR from the default pod CIDR,
// and a Service's ready pod appears in its EndpointSlice and Endpoints.
func TestLeaderRunsNodeComponents(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Controllers: true})
	ctx := testContext(t, 60*time.Second)
	kc := kubeClient(t, c, 1)
	if _, err := kc.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "wired-node"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var cidr string
	if err := c.WaitFor(ctx, func() bool {
		n, err := kc.CoreV1().Nodes().Get(ctx, "wired-node", metav1.GetOptions{})
		cidr = n.Spec.PodCIDR
		return err == nil && cidr != ""
	}); err != nil {
		t.Fatal("node never got a pod CIDR")
	}
	if cidr != "10.244.0.0/24" {
		t.Errorf("first node's pod CIDR %s, want 10.244.0.0/24", cidr)
	}

	ns := kubeNamespace(t, ctx, kc)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := kc.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "wired-node", Containers: []corev1.Container{{Name: "c", Image: "example/app:1"}}}}
	pod, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase, pod.Status.PodIP, pod.Status.PodIPs = corev1.PodRunning, "10.244.0.5", []corev1.PodIP{{IP: "10.244.0.5"}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := kc.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFor(ctx, func() bool {
		slices, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil || len(slices.Items) != 1 || len(slices.Items[0].Endpoints) != 1 {
			return false
		}
		ep, err := kc.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && len(ep.Subsets) == 1 && len(ep.Subsets[0].Addresses) == 1 && ep.Subsets[0].Addresses[0].IP == "10.244.0.5"
	}); err != nil {
		t.Fatal("the Service's ready pod never reached its EndpointSlice and Endpoints")
	}
}
