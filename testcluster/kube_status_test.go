package testcluster_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/skiffhq/skiff/testcluster"
)

// TestKubeStatusSubresources checks the status and scale subresources
// and pod binding through client-go: a status update changes only the
// status, a main update never the status; a deployment's generation
// counts changes of its spec (scale included) and nothing else.
func TestKubeStatusSubresources(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := testContext(t, 60*time.Second)
	kcs := kubeClients(t, c)
	ns := kubeNamespace(t, ctx, kcs[0])
	labels := map[string]string{"app": "status"}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}, SchedulerName: manualScheduler}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec}

	t.Run("deployments", func(t *testing.T) {
		d0 := kcs[0].AppsV1().Deployments(ns)
		d1 := kcs[1].AppsV1().Deployments(ns)
		d2 := kcs[2].AppsV1().Deployments(ns)
		d, err := d0.Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template},
			Status: appsv1.DeploymentStatus{Replicas: 42}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != 1 || d.Status.Replicas != 0 {
			t.Fatalf("create: generation %d, status %+v; want generation 1, no status", d.Generation, d.Status)
		}

		// A status update ignores the spec and labels it carries.
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1}
		d.Spec.Replicas = ptr.To[int32](7)
		d.Labels = map[string]string{"from": "status"}
		s, err := d1.UpdateStatus(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		requireDeployment(t, ctx, d2, "status update", s, 1, 1, appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1})
		if s.Labels["from"] != "" {
			t.Fatalf("status update changed labels: %v", s.Labels)
		}

		// A main update ignores the status it carries; a spec change bumps
		// the generation, a label change does not.
		s.Spec.Replicas = ptr.To[int32](3)
		s.Status.Replicas = 99
		u, err := d2.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		requireDeployment(t, ctx, d0, "spec update", u, 2, 3, appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1})
		u.Labels = map[string]string{"from": "update"}
		u, err = d0.Update(ctx, u, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		requireDeployment(t, ctx, d1, "label update", u, 2, 3, appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1})

		// A status patch goes through the status subresource too.
		p, err := d1.Patch(ctx, "d", types.MergePatchType, []byte(`{"status":{"availableReplicas":1},"spec":{"replicas":8}}`), metav1.PatchOptions{}, "status")
		if err != nil {
			t.Fatal(err)
		}
		requireDeployment(t, ctx, d2, "status patch", p, 2, 3, appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1})

		// Scale reads and writes spec.replicas; writing it is a spec change.
		sc, err := d2.GetScale(ctx, "d", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Spec.Replicas != 3 || sc.Status.Replicas != 1 || sc.Status.Selector != "app=status" || sc.Name != "d" || sc.ResourceVersion != p.ResourceVersion {
			t.Fatalf("scale: %+v, deployment at resourceVersion %s", sc, p.ResourceVersion)
		}
		sc.Spec.Replicas = 5
		if _, err := d0.UpdateScale(ctx, "d", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := d1.Get(ctx, "d", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		requireDeployment(t, ctx, d1, "scale update", got, 3, 5, appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1})
		if _, err := d2.UpdateScale(ctx, "d", sc, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("scale update at the stale resourceVersion %s: %v, want a conflict", sc.ResourceVersion, err)
		}
	})

	t.Run("replicasets", func(t *testing.T) {
		r0 := kcs[0].AppsV1().ReplicaSets(ns)
		r1 := kcs[1].AppsV1().ReplicaSets(ns)
		r2 := kcs[2].AppsV1().ReplicaSets(ns)
		rs, err := r1.Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs"}, Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, ReadyReplicas: 1, ObservedGeneration: 1}
		rs.Spec.Replicas = ptr.To[int32](9)
		if rs, err = r2.UpdateStatus(ctx, rs, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if *rs.Spec.Replicas != 2 || rs.Status.ReadyReplicas != 1 || rs.Generation != 1 {
			t.Fatalf("status update: replicas %d, status %+v, generation %d", *rs.Spec.Replicas, rs.Status, rs.Generation)
		}
		rs.Status.ReadyReplicas = 0
		rs.Spec.MinReadySeconds = 4
		if rs, err = r0.Update(ctx, rs, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if rs.Spec.MinReadySeconds != 4 || rs.Status.ReadyReplicas != 1 || rs.Generation != 2 {
			t.Fatalf("main update: minReadySeconds %d, status %+v, generation %d", rs.Spec.MinReadySeconds, rs.Status, rs.Generation)
		}
		sc, err := r1.UpdateScale(ctx, "rs", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 4}}, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Spec.Replicas != 4 || sc.Status.Replicas != 2 {
			t.Fatalf("scale update: %+v", sc)
		}
		got, err := r2.Get(ctx, "rs", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *got.Spec.Replicas != 4 || got.Generation != 3 || got.Status.ReadyReplicas != 1 {
			t.Fatalf("after scale: replicas %d, generation %d, status %+v", *got.Spec.Replicas, got.Generation, got.Status)
		}
		if sc, err := r0.GetScale(ctx, "rs", metav1.GetOptions{}); err != nil || sc.Spec.Replicas != 4 || sc.ResourceVersion != got.ResourceVersion {
			t.Fatalf("get scale: %v %+v", err, sc)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		n0, n1, n2 := kcs[0].CoreV1().Nodes(), kcs[1].CoreV1().Nodes(), kcs[2].CoreV1().Nodes()
		// A pod CIDR of its own keeps the leader's node IPAM from writing
		// the node between the test's read and its update.
		n, err := n2.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "status-node"},
			Spec: corev1.NodeSpec{PodCIDR: "10.244.250.0/24"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}
		n.Status = corev1.NodeStatus{Conditions: []corev1.NodeCondition{ready}, Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}
		n.Spec.Unschedulable = true
		if n, err = n0.UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if n.Spec.Unschedulable || len(n.Status.Conditions) != 1 || n.Status.Capacity.Cpu().String() != "4" {
			t.Fatalf("status update: spec %+v status %+v", n.Spec, n.Status)
		}
		n.Spec.Unschedulable = true
		n.Status = corev1.NodeStatus{}
		if n, err = n1.Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := n2.Get(ctx, "status-node", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Spec.Unschedulable || len(got.Status.Conditions) != 1 || got.Status.Conditions[0].Type != corev1.NodeReady || got.ResourceVersion != n.ResourceVersion {
			t.Fatalf("main update: spec %+v status %+v", got.Spec, got.Status)
		}
	})

	t.Run("pods", func(t *testing.T) {
		p0, p1, p2 := kcs[0].CoreV1().Pods(ns), kcs[1].CoreV1().Pods(ns), kcs[2].CoreV1().Pods(ns)
		p, err := p1.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: podSpec,
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
			t.Fatalf("create: phase %q node %q, want Pending and unbound", p.Status.Phase, p.Spec.NodeName)
		}
		binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-a"}}
		if err := p2.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatalf("bind: %v", err)
		}
		bound, err := p0.Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if bound.Spec.NodeName != "node-a" || !podCondition(bound, corev1.PodScheduled) {
			t.Fatalf("after bind: node %q conditions %+v", bound.Spec.NodeName, bound.Status.Conditions)
		}
		binding.Target.Name = "node-b"
		if err := p1.Bind(ctx, binding, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
			t.Fatalf("second bind: %v, want a conflict", err)
		}

		bound.Status.Phase = corev1.PodRunning
		bound.Status.PodIP = "10.244.1.7"
		bound.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
		running, err := p1.UpdateStatus(ctx, bound, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if running.Status.Phase != corev1.PodRunning || running.Status.PodIP != "10.244.1.7" || running.Spec.ActiveDeadlineSeconds != nil || running.Spec.NodeName != "node-a" {
			t.Fatalf("status update: spec %+v status %+v", running.Spec, running.Status)
		}
		running.Status.Phase = corev1.PodFailed
		running.Labels = map[string]string{"main": "update"}
		updated, err := p2.Update(ctx, running, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if updated.Status.Phase != corev1.PodRunning || updated.Labels["main"] != "update" || updated.Spec.NodeName != "node-a" {
			t.Fatalf("main update: labels %v phase %q node %q", updated.Labels, updated.Status.Phase, updated.Spec.NodeName)
		}
	})

	t.Run("services", func(t *testing.T) {
		s0, s1, s2 := kcs[0].CoreV1().Services(ns), kcs[1].CoreV1().Services(ns), kcs[2].CoreV1().Services(ns)
		svc, err := s2.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc"}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ip := svc.Spec.ClusterIP
		if ip == "" {
			t.Fatalf("create: no clusterIP: %+v", svc.Spec)
		}
		svc.Status = corev1.ServiceStatus{Conditions: []metav1.Condition{{Type: "Tested", Status: metav1.ConditionTrue,
			Reason: "Tested", Message: "set through the status subresource", LastTransitionTime: metav1.NewTime(time.Now().Truncate(time.Second))}}}
		svc.Spec.Selector = map[string]string{"app": "other"}
		if svc, err = s0.UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if svc.Spec.Selector["app"] != "status" || len(svc.Status.Conditions) != 1 {
			t.Fatalf("status update: selector %v status %+v", svc.Spec.Selector, svc.Status)
		}
		svc.Status = corev1.ServiceStatus{}
		svc.Spec.Selector = map[string]string{"app": "other"}
		if svc, err = s1.Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := s2.Get(ctx, "svc", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Selector["app"] != "other" || got.Spec.ClusterIP != ip || len(got.Status.Conditions) != 1 || got.ResourceVersion != svc.ResourceVersion {
			t.Fatalf("main update: spec %+v status %+v", got.Spec, got.Status)
		}
	})
}

// requireDeployment checks a deployment a write answered, and that a Get
// through dc returns the same: its generation, spec.replicas and status.
func requireDeployment(t *testing.T, ctx context.Context, dc interface {
	Get(context.Context, string, metav1.GetOptions) (*appsv1.Deployment, error)
}, what string, d *appsv1.Deployment, generation int64, replicas int32, status appsv1.DeploymentStatus) {
	t.Helper()
	got, err := dc.Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: get: %v", what, err)
	}
	for _, o := range []*appsv1.Deployment{d, got} {
		if o.Generation != generation || *o.Spec.Replicas != replicas || !apiequality.Semantic.DeepEqual(o.Status, status) || o.ResourceVersion != d.ResourceVersion {
			t.Fatalf("%s: generation %d, replicas %d, status %+v at %s; want generation %d, replicas %d, status %+v at %s",
				what, o.Generation, *o.Spec.Replicas, o.Status, o.ResourceVersion, generation, replicas, status, d.ResourceVersion)
		}
	}
}

// podCondition reports whether pod's condition typ is True.
func podCondition(pod *corev1.Pod, typ corev1.PodConditionType) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == typ {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
