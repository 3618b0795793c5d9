package testcluster_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

func kubeClient(t testing.TB, c *testcluster.Cluster, i int) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RestConfig(i))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestKubeConfigMapCRUD(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubeClient(t, c, (leader+1)%3)
	var ns *corev1.Namespace
	if err := c.WaitFor(ctx, func() bool {
		ns, err = kc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("default namespace: %v", err)
	}
	cm, err := kc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.UID == "" || cm.ResourceVersion == "" || cm.CreationTimestamp.IsZero() {
		t.Fatalf("server fields not set: %+v", cm.ObjectMeta)
	}
	if _, err := kc.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v", err)
	}
	cm.Data["k"] = "v2"
	upd, err := kc.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: %v", err)
	}
	got, err := kubeClient(t, c, leader).CoreV1().ConfigMaps("default").Get(ctx, "a", metav1.GetOptions{})
	if err != nil || got.Data["k"] != "v2" || got.ResourceVersion != upd.ResourceVersion {
		t.Fatalf("get: %v %+v", err, got)
	}
	list, err := kc.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v %d", err, len(list.Items))
	}
	if err := kc.CoreV1().ConfigMaps("default").Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.CoreV1().ConfigMaps("default").Get(ctx, "a", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: %v", err)
	}
	_ = ns
}

func TestKubeServiceAllocations(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc := kubeClient(t, c, 0)
	if err := c.WaitFor(ctx, func() bool {
		_, err := kc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	ports := map[int32]bool{}
	for i := 0; i < 20; i++ {
		svc, err := kc.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "s-"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "a"},
				Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip, np := svc.Spec.ClusterIP, svc.Spec.Ports[0].NodePort
		if ip == "" || seen[ip] || np < 30000 || np > 32767 || ports[np] {
			t.Fatalf("service %d: clusterIP %q nodePort %d (seen ips %v)", i, ip, np, seen)
		}
		seen[ip], ports[np] = true, true
	}
	// A requested address that is taken is refused; freed on delete, it can be reused.
	var taken string
	for ip := range seen {
		taken = ip
		break
	}
	dup := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dup"}, Spec: corev1.ServiceSpec{ClusterIP: taken, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := kc.CoreV1().Services("default").Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("duplicate clusterIP: %v", err)
	}
	list, err := kc.CoreV1().Services("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		if s.Spec.ClusterIP == taken {
			if err := kc.CoreV1().Services("default").Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := kc.CoreV1().Services("default").Create(ctx, dup, metav1.CreateOptions{}); err != nil {
		t.Fatalf("reuse of a freed clusterIP: %v", err)
	}
}

// TestKubeServiceTypeChange checks through real Raft that an update which
// makes a Service NodePort claims its port in the update's transaction and
// one that makes it ClusterIP again releases it: another service can
// then take the port.
func TestKubeServiceTypeChange(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Servers: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc := kubeClient(t, c, 0)
	if err := c.WaitFor(ctx, func() bool {
		_, err := kc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatal(err)
	}
	svcs := kc.CoreV1().Services("default")
	a, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "a"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.Spec.Type = corev1.ServiceTypeNodePort
	if a, err = svcs.Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := a.Spec.Ports[0].NodePort
	if port == 0 {
		t.Fatal("ClusterIP to NodePort stored nodePort 0")
	}
	b := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "b"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: port}}}}
	if _, err := svcs.Create(ctx, b, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("create with the port the update claimed: %v, want 422", err)
	}
	a.Spec.Type = corev1.ServiceTypeClusterIP
	if _, err = svcs.Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create with the port the update released: %v", err)
	}
}
