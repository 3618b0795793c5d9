package controller_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/skiffhq/skiff/controller/deployment"
)

func newDeployment(name string, replicas int32, surge, unavailable intstr.IntOrString, image string) *appsv1.Deployment {
	lbl := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}, SchedulerName: simScheduler},
			},
		},
	}
}

// rolledOut is kubectl's rollout status check (polymorphichelpers'
// DeploymentStatusViewer): the status observed the spec, every replica
// updated, no old replica left, every updated replica available; a
// ProgressDeadlineExceeded condition is a failure.
func rolledOut(d *appsv1.Deployment) (string, bool) {
	if d.Generation > d.Status.ObservedGeneration {
		return "waiting for spec update to be observed", false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == deployment.ReasonTimedOut {
			return "exceeded its progress deadline", false
		}
	}
	switch {
	case d.Spec.Replicas != nil && d.Status.UpdatedReplicas < *d.Spec.Replicas:
		return fmt.Sprintf("%d out of %d new replicas updated", d.Status.UpdatedReplicas, *d.Spec.Replicas), false
	case d.Status.Replicas > d.Status.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas pending termination", d.Status.Replicas-d.Status.UpdatedReplicas), false
	case d.Status.AvailableReplicas < d.Status.UpdatedReplicas:
		return fmt.Sprintf("%d of %d updated replicas available", d.Status.AvailableReplicas, d.Status.UpdatedReplicas), false
	}
	return "successfully rolled out", true
}

// waitRolledOut waits until rolledOut holds and the Progressing condition
// says NewReplicaSetAvailable, and returns the deployment.
func waitRolledOut(t *testing.T, ctx context.Context, kc kubernetes.Interface, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	last := ""
	waitFor(t, ctx, "rollout of "+name, func() bool {
		var err error
		if d, err = kc.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false
		}
		msg, ok := rolledOut(d)
		last = msg
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == deployment.ReasonNewRSAvailable && ok {
				return true
			}
		}
		return false
	})
	_ = last
	return d
}

// podTally follows a namespace's pods through a watch and records the
// most pods and the fewest ready pods it ever saw at once.
type podTally struct {
	mu       sync.Mutex
	pods     map[string]bool   // name → ready
	hashes   map[string]string // name → pod-template-hash
	mixed    bool              // pods of two templates existed at once
	maxPods  int
	minReady int
	events   int
	stop     func()
	done     chan struct{}
}

func tallyPods(t testing.TB, ctx context.Context, kc kubernetes.Interface, ns string) *podTally {
	t.Helper()
	list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pt := &podTally{pods: map[string]bool{}, hashes: map[string]string{}, done: make(chan struct{})}
	for i := range list.Items {
		pt.pods[list.Items[i].Name] = isReady(&list.Items[i])
		pt.hashes[list.Items[i].Name] = list.Items[i].Labels[deployment.TemplateHashLabel]
	}
	pt.maxPods, pt.minReady = len(pt.pods), pt.ready()
	ctx, cancel := context.WithCancel(ctx)
	pt.stop = cancel
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return kc.CoreV1().Pods(ns).Watch(ctx, o)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(pt.done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				pt.mu.Lock()
				pt.events++
				if ev.Type == watch.Deleted {
					delete(pt.pods, pod.Name)
					delete(pt.hashes, pod.Name)
				} else {
					pt.pods[pod.Name] = isReady(pod) && pod.DeletionTimestamp == nil
					pt.hashes[pod.Name] = pod.Labels[deployment.TemplateHashLabel]
				}
				seen := map[string]bool{}
				for _, h := range pt.hashes {
					seen[h] = true
				}
				pt.mixed = pt.mixed || len(seen) > 1
				pt.maxPods = max(pt.maxPods, len(pt.pods))
				pt.minReady = min(pt.minReady, pt.ready())
				pt.mu.Unlock()
			}
		}
	}()
	return pt
}

func (pt *podTally) ready() int {
	n := 0
	for _, r := range pt.pods {
		if r {
			n++
		}
	}
	return n
}

// finish stops the watch and returns the extremes it saw.
func (pt *podTally) finish() (maxPods, minReady, events int) {
	pt.stop()
	<-pt.done
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.maxPods, pt.minReady, pt.events
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func replicaSets(t *testing.T, ctx context.Context, kc kubernetes.Interface, ns, app string) []appsv1.ReplicaSet {
	t.Helper()
	list, err := kc.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{"app": app}.String()})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func setImage(t *testing.T, ctx context.Context, kc kubernetes.Interface, ns, name, image string, edit func(*appsv1.Deployment)) {
	t.Helper()
	waitFor(t, ctx, "update of "+name, func() bool {
		d, err := kc.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		if image != "" {
			d.Spec.Template.Spec.Containers[0].Image = image
		}
		if edit != nil {
			edit(d)
		}
		_, err = kc.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err == nil
	})
}

// TestDeploymentRollingUpdate rolls a 10-replica deployment (maxSurge 3,
// maxUnavailable 2) to a new image while a watch counts pods, then rolls it
// back as kubectl rollout undo does, then pauses it.
func TestDeploymentRollingUpdate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := startEnv(t, ctx)
	const ns = "rolling"
	e.namespace(t, ctx, ns)
	const replicas, surge, unavailable = 10, 3, 2
	if _, err := e.kc.AppsV1().Deployments(ns).Create(ctx, newDeployment("web", replicas, intstr.FromInt32(surge), intstr.FromInt32(unavailable), "app:v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := waitRolledOut(t, ctx, e.kc, ns, "web")
	if d.Status.AvailableReplicas != replicas || d.Status.ReadyReplicas != replicas || d.Annotations[deployment.RevisionAnnotation] != "1" {
		t.Fatalf("after create: status %+v annotations %v", d.Status, d.Annotations)
	}
	first := replicaSets(t, ctx, e.kc, ns, "web")
	if len(first) != 1 || first[0].Name != "web-"+first[0].Labels[deployment.TemplateHashLabel] {
		t.Fatalf("replica sets after create: %d", len(first))
	}

	tally := tallyPods(t, ctx, e.kc, ns)
	setImage(t, ctx, e.kc, ns, "web", "app:v2", nil)
	d = waitRolledOut(t, ctx, e.kc, ns, "web")
	maxPods, minReady, events := tally.finish()
	t.Logf("rolling update: %d pod events, at most %d pods, at least %d ready", events, maxPods, minReady)
	if maxPods > replicas+surge {
		t.Errorf("saw %d pods at once, more than replicas+maxSurge = %d", maxPods, replicas+surge)
	}
	if minReady < replicas-unavailable {
		t.Errorf("saw %d ready pods, fewer than replicas-maxUnavailable = %d", minReady, replicas-unavailable)
	}
	if d.Annotations[deployment.RevisionAnnotation] != "2" {
		t.Errorf("deployment revision %q, want 2", d.Annotations[deployment.RevisionAnnotation])
	}
	rss := replicaSets(t, ctx, e.kc, ns, "web")
	if len(rss) != 2 {
		t.Fatalf("%d replica sets after the update, want 2", len(rss))
	}
	for _, rs := range rss {
		want := int32(0)
		if rs.Spec.Template.Spec.Containers[0].Image == "app:v2" {
			want = replicas
		}
		if *rs.Spec.Replicas != want || rs.Status.Replicas != want {
			t.Errorf("replica set %s (%s): spec %d status %d, want %d", rs.Name, rs.Spec.Template.Spec.Containers[0].Image, *rs.Spec.Replicas, rs.Status.Replicas, want)
		}
	}

	// Roll back the way kubectl rollout undo does: copy revision 1's
	// template (without the hash label) into the deployment.
	var rev1 *appsv1.ReplicaSet
	for i := range rss {
		if rss[i].Annotations[deployment.RevisionAnnotation] == "1" {
			rev1 = &rss[i]
		}
	}
	if rev1 == nil {
		t.Fatal("no replica set with revision 1")
	}
	setImage(t, ctx, e.kc, ns, "web", "", func(d *appsv1.Deployment) {
		tmpl := rev1.Spec.Template.DeepCopy()
		delete(tmpl.Labels, deployment.TemplateHashLabel)
		d.Spec.Template = *tmpl
	})
	d = waitRolledOut(t, ctx, e.kc, ns, "web")
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "app:v1" {
		t.Fatalf("after undo the image is %s", img)
	}
	if got := d.Annotations[deployment.RevisionAnnotation]; got != "3" {
		t.Errorf("revision after undo %q, want 3", got)
	}
	back, err := e.kc.AppsV1().ReplicaSets(ns).Get(ctx, rev1.Name, metav1.GetOptions{})
	if err != nil || *back.Spec.Replicas != replicas || back.Annotations[deployment.RevisionAnnotation] != "3" || back.Annotations[deployment.RevisionHistoryAnnotation] != "1" {
		t.Fatalf("undo must reuse replica set %s with revision 3: %v %+v", rev1.Name, err, back)
	}
	if n := len(replicaSets(t, ctx, e.kc, ns, "web")); n != 2 {
		t.Errorf("%d replica sets after undo, want 2", n)
	}

	// A paused deployment takes the new template but does not roll.
	setImage(t, ctx, e.kc, ns, "web", "app:v3", func(d *appsv1.Deployment) { d.Spec.Paused = true })
	waitFor(t, ctx, "the paused deployment observed", func() bool {
		d, err = e.kc.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil || d.Status.ObservedGeneration < d.Generation {
			return false
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Reason == deployment.ReasonPaused {
				return true
			}
		}
		return false
	})
	for _, rs := range replicaSets(t, ctx, e.kc, ns, "web") {
		if rs.Spec.Template.Spec.Containers[0].Image == "app:v3" {
			t.Fatalf("paused deployment made replica set %s", rs.Name)
		}
	}
	setImage(t, ctx, e.kc, ns, "web", "", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	d = waitRolledOut(t, ctx, e.kc, ns, "web")
	if d.Annotations[deployment.RevisionAnnotation] != "4" {
		t.Errorf("revision after resume %q, want 4", d.Annotations[deployment.RevisionAnnotation])
	}
}

// TestDeploymentRecreateAndDeadline checks the Recreate strategy (old pods
// all gone before any new pod exists) and the progress deadline: with the
// kubelet holding pods unready, Progressing turns False with
// ProgressDeadlineExceeded; once pods get ready the rollout completes.
func TestDeploymentRecreateAndDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := startEnv(t, ctx)
	const ns = "recreate"
	kubelet := e.namespace(t, ctx, ns)
	d := newDeployment("web", 4, intstr.FromInt32(1), intstr.FromInt32(1), "app:v1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	deadline := int32(2)
	d.Spec.ProgressDeadlineSeconds = &deadline
	if _, err := e.kc.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, ctx, e.kc, ns, "web")
	tally := tallyPods(t, ctx, e.kc, ns)
	kubelet.Hold(true)
	setImage(t, ctx, e.kc, ns, "web", "app:v2", nil)
	waitFor(t, ctx, "ProgressDeadlineExceeded", func() bool {
		d, err := e.kc.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == deployment.ReasonTimedOut {
				return true
			}
		}
		return false
	})
	kubelet.Hold(false)
	waitRolledOut(t, ctx, e.kc, ns, "web")
	tally.finish()
	if tally.mixed {
		t.Error("Recreate ran old and new pods at the same time")
	}
}
