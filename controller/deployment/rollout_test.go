package deployment

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func deploy(replicas int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Strategy: appsv1.DeploymentStrategy{
			Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}},
	}
}

// rs is a ReplicaSet with spec replicas, status replicas and available
// pods, created age seconds after t0.
func rs(name string, spec, pods, avail int32, age int) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second))},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &spec},
		Status:     appsv1.ReplicaSetStatus{Replicas: pods, ReadyReplicas: avail, AvailableReplicas: avail},
	}
}

func TestFenceposts(t *testing.T) {
	for _, tc := range []struct {
		replicas           int32
		surge, unavailable intstr.IntOrString
		wantS, wantU       int32
	}{
		{10, intstr.FromString("25%"), intstr.FromString("25%"), 3, 2},
		{4, intstr.FromString("25%"), intstr.FromString("25%"), 1, 1},
		{1, intstr.FromString("25%"), intstr.FromString("25%"), 1, 0},
		{3, intstr.FromInt32(0), intstr.FromString("10%"), 0, 1},
		{10, intstr.FromInt32(2), intstr.FromInt32(20), 2, 10},
		{5, intstr.FromString("50%"), intstr.FromInt32(0), 3, 0},
	} {
		t.Run(fmt.Sprintf("%d/%s/%s", tc.replicas, tc.surge.String(), tc.unavailable.String()), func(t *testing.T) {
			s, u := Fenceposts(deploy(tc.replicas, tc.surge, tc.unavailable))
			if s != tc.wantS || u != tc.wantU {
				t.Errorf("Fenceposts = %d, %d; want %d, %d", s, u, tc.wantS, tc.wantU)
			}
		})
	}
}

func TestRollingStep(t *testing.T) {
	d := deploy(10, intstr.FromInt32(3), intstr.FromInt32(2))
	for _, tc := range []struct {
		name    string
		newRS   *appsv1.ReplicaSet
		olds    []*appsv1.ReplicaSet
		wantNew int32
		wantOld map[string]int32
	}{
		{"first step surges", rs("new", 0, 0, 0, 2), []*appsv1.ReplicaSet{rs("old", 10, 10, 10, 1)}, 3, nil},
		{"surge used: old down by maxUnavailable", rs("new", 3, 3, 0, 2), []*appsv1.ReplicaSet{rs("old", 10, 10, 10, 1)}, 3, map[string]int32{"old": 8}},
		{"old pods not gone yet: wait", rs("new", 3, 3, 0, 2), []*appsv1.ReplicaSet{rs("old", 8, 10, 8, 1)}, 3, nil},
		{"room after scale-down: new up", rs("new", 3, 3, 0, 2), []*appsv1.ReplicaSet{rs("old", 8, 8, 8, 1)}, 5, nil},
		{"new available: old down", rs("new", 5, 5, 5, 2), []*appsv1.ReplicaSet{rs("old", 8, 8, 8, 1)}, 5, map[string]int32{"old": 3}},
		{"unhealthy old pods go first", rs("new", 5, 5, 3, 2), []*appsv1.ReplicaSet{rs("old", 8, 8, 4, 1)}, 5, map[string]int32{"old": 5}},
		{"no budget while new pods are unavailable", rs("new", 5, 5, 0, 2), []*appsv1.ReplicaSet{rs("old", 8, 8, 4, 1)}, 5, nil},
		{"oldest old first", rs("new", 10, 10, 10, 3), []*appsv1.ReplicaSet{rs("a", 2, 2, 2, 1), rs("b", 2, 2, 2, 2)}, 10, map[string]int32{"a": 0, "b": 0}},
		{"done", rs("new", 10, 10, 10, 2), []*appsv1.ReplicaSet{rs("old", 0, 0, 0, 1)}, 10, nil},
		{"new too big", rs("new", 12, 12, 12, 2), nil, 10, nil},
		{"new RS absent", nil, []*appsv1.ReplicaSet{rs("old", 10, 10, 10, 1)}, 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := RollingStep(d, tc.newRS, tc.olds)
			if p.New != tc.wantNew || fmt.Sprint(p.Old) != fmt.Sprint(tc.wantOld) {
				t.Errorf("RollingStep = new %d old %v; want new %d old %v", p.New, p.Old, tc.wantNew, tc.wantOld)
			}
		})
	}
}

func TestRecreateStep(t *testing.T) {
	d := deploy(4, intstr.FromInt32(1), intstr.FromInt32(1))
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	for _, tc := range []struct {
		name    string
		olds    []*appsv1.ReplicaSet
		oldPods int
		wantNew int32
		wantOld map[string]int32
	}{
		{"old scaled to zero first", []*appsv1.ReplicaSet{rs("old", 4, 4, 4, 1)}, 4, 0, map[string]int32{"old": 0}},
		{"waits for old pods", []*appsv1.ReplicaSet{rs("old", 0, 2, 0, 1)}, 2, 0, nil},
		{"then new up", []*appsv1.ReplicaSet{rs("old", 0, 0, 0, 1)}, 0, 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := RecreateStep(d, rs("new", 0, 0, 0, 2), tc.olds, tc.oldPods)
			if p.New != tc.wantNew || fmt.Sprint(p.Old) != fmt.Sprint(tc.wantOld) {
				t.Errorf("RecreateStep = new %d old %v; want new %d old %v", p.New, p.Old, tc.wantNew, tc.wantOld)
			}
		})
	}
}

func TestScale(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int32
		newRS    *appsv1.ReplicaSet
		olds     []*appsv1.ReplicaSet
		want     map[string]int32
	}{
		{"single active takes all", 20, rs("new", 10, 10, 10, 2), []*appsv1.ReplicaSet{rs("old", 0, 0, 0, 1)}, map[string]int32{"new": 20}},
		{"down to zero", 0, rs("new", 10, 10, 10, 2), nil, map[string]int32{"new": 0}},
		{"proportional up", 20, rs("new", 6, 6, 6, 2), []*appsv1.ReplicaSet{rs("old", 6, 6, 6, 1)}, map[string]int32{"new": 11, "old": 10}},
		{"proportional down", 5, rs("new", 6, 6, 6, 2), []*appsv1.ReplicaSet{rs("old", 6, 6, 6, 1)}, map[string]int32{"new": 3, "old": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deploy(tc.replicas, intstr.FromInt32(1), intstr.FromInt32(0))
			got := Scale(d, tc.newRS, tc.olds)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Scale = %v, want %v", got, tc.want)
			}
		})
	}
}

// world is a model of a namespace for the rollout property test: each
// ReplicaSet has pods that are available or not; the ReplicaSet
// controller converges pods to spec (new pods unavailable, deleting
// unavailable ones first) and a kubelet makes pods available.
type world struct {
	rss   []*appsv1.ReplicaSet
	avail map[string]int32
	pods  map[string]int32
}

func (w *world) status() {
	for _, r := range w.rss {
		r.Status.Replicas = w.pods[r.Name]
		r.Status.AvailableReplicas = w.avail[r.Name]
		r.Status.ReadyReplicas = w.avail[r.Name]
	}
}

func (w *world) total() (pods, avail int32) {
	for _, r := range w.rss {
		pods += w.pods[r.Name]
		avail += w.avail[r.Name]
	}
	return
}

// TestRollingStepProperties runs random rollouts — random replicas,
// surge and unavailability, random interleaving of the controller, the
// ReplicaSet controller and the kubelet — and checks at every moment that
// pods never exceed replicas+maxSurge, available pods never drop below
// replicas-maxUnavailable, and that the rollout completes.
func TestRollingStepProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 300; trial++ {
		replicas := int32(1 + r.IntN(20))
		surge := intstr.FromInt32(int32(r.IntN(4)))
		unavail := intstr.FromInt32(int32(r.IntN(4)))
		if r.IntN(2) == 0 {
			surge = intstr.FromString(fmt.Sprintf("%d%%", r.IntN(60)))
			unavail = intstr.FromString(fmt.Sprintf("%d%%", r.IntN(60)))
		}
		d := deploy(replicas, surge, unavail)
		maxSurge, maxUnavail := Fenceposts(d)
		w := &world{avail: map[string]int32{"old": replicas}, pods: map[string]int32{"old": replicas}}
		w.rss = []*appsv1.ReplicaSet{rs("old", replicas, replicas, replicas, 1), rs("new", 0, 0, 0, 2)}
		w.status()
		for step := 0; ; step++ {
			if step > 2000 {
				t.Fatalf("trial %d (replicas %d surge %d unavail %d): no completion", trial, replicas, maxSurge, maxUnavail)
			}
			switch r.IntN(3) {
			case 0: // the deployment controller
				p := RollingStep(d, w.rss[1], w.rss[:1])
				n := p.New
				w.rss[1].Spec.Replicas = &n
				for name, v := range p.Old {
					if name == "old" {
						w.rss[0].Spec.Replicas = &v
					}
				}
			case 1: // the ReplicaSet controller
				for _, x := range w.rss {
					want := *x.Spec.Replicas
					for w.pods[x.Name] > want {
						if w.pods[x.Name] > w.avail[x.Name] {
							w.pods[x.Name]--
						} else {
							w.pods[x.Name]--
							w.avail[x.Name]--
						}
					}
					if w.pods[x.Name] < want {
						w.pods[x.Name] = want
					}
				}
			case 2: // the kubelet: some pending pod becomes available
				for _, x := range w.rss {
					if w.avail[x.Name] < w.pods[x.Name] && r.IntN(2) == 0 {
						w.avail[x.Name]++
					}
				}
			}
			w.status()
			pods, avail := w.total()
			if pods > replicas+maxSurge {
				t.Fatalf("trial %d step %d: %d pods > %d+%d", trial, step, pods, replicas, maxSurge)
			}
			if avail < replicas-maxUnavail {
				t.Fatalf("trial %d step %d: %d available < %d-%d", trial, step, avail, replicas, maxUnavail)
			}
			if w.avail["new"] == replicas && w.pods["old"] == 0 && w.pods["new"] == replicas {
				break
			}
		}
	}
}

func TestTemplateHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}}}
	a := TemplateHash(tmpl, nil)
	if a != TemplateHash(tmpl.DeepCopy(), nil) {
		t.Fatal("hash not stable")
	}
	one := int32(1)
	if a == TemplateHash(tmpl, &one) {
		t.Fatal("collision count must change the hash")
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "nginx:2"
	if a == TemplateHash(other, nil) {
		t.Fatal("a changed template must change the hash")
	}
	for _, ch := range a {
		if !(ch >= 'b' && ch <= 'z' || ch >= '2' && ch <= '9') {
			t.Fatalf("hash %q has a character SafeEncodeString never produces", a)
		}
	}
}
