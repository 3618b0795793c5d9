package worker

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiffhq/skiff/config"
)

// newTestPodWorker returns a pod worker over a fake runtime and a fake
// API holding pod.
func newTestPodWorker(t *testing.T, pod *corev1.Pod) (*podWorker, *fakeRuntime, *fake.Clientset) {
	t.Helper()
	rt := newFakeRuntime()
	client := fake.NewSimpleClientset(pod)
	cfg := config.DefaultWorker()
	cfg.Name = "w1"
	w := &Worker{cfg: cfg, rt: rt, log: slog.New(slog.DiscardHandler), client: client, node: nodeSpec{address: "192.0.2.1"}}
	m := newPodManager(w)
	pw := newPodWorker(m, pod)
	pw.update(pod)
	return pw, rt, client
}

func testPod(policy corev1.RestartPolicy) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-1"},
		Spec: corev1.PodSpec{
			NodeName: "w1", RestartPolicy: policy,
			Containers: []corev1.Container{{Name: "app", Image: "img:1"}},
		},
	}
}

// syncOnce runs one sync of the worker's latest pod, as stored in the
// fake API, and returns the pod as the API has it afterwards.
func syncOnce(t *testing.T, pw *podWorker, client *fake.Clientset) (time.Duration, *corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	cur, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := pw.sync(ctx, cur)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	out, _ := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	return next, out
}

func TestSyncStartsAndReportsRunning(t *testing.T) {
	pw, rt, client := newTestPodWorker(t, testPod(corev1.RestartPolicyAlways))
	_, p := syncOnce(t, pw, client)
	if len(rt.created) != 1 || rt.created[0].Attempt != 0 {
		t.Fatalf("created %+v, want one first attempt", rt.created)
	}
	if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Status.HostIP != "192.0.2.1" || !podIsReady(p) {
		t.Fatalf("status %+v, want Running and Ready with IPs", p.Status)
	}
	// Nothing changed: no second write.
	before := len(client.Actions())
	syncOnce(t, pw, client)
	for _, a := range client.Actions()[before:] {
		if a.GetVerb() == "update" {
			t.Errorf("an unchanged pod was written: %v", a)
		}
	}
}

func TestSyncRestartBackoff(t *testing.T) {
	pw, rt, client := newTestPodWorker(t, testPod(corev1.RestartPolicyAlways))
	syncOnce(t, pw, client)
	rt.exit("app", 2)
	// The first restart is immediate.
	syncOnce(t, pw, client)
	if len(rt.created) != 2 || rt.created[1].Attempt != 1 {
		t.Fatalf("created %+v, want a restart at once", rt.created)
	}
	rt.exit("app", 2)
	next, p := syncOnce(t, pw, client)
	if len(rt.created) != 2 {
		t.Fatalf("restarted again without back-off")
	}
	cs := p.Status.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.RestartCount != 1 {
		t.Fatalf("container status %+v, want CrashLoopBackOff after one restart", cs)
	}
	if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 2 {
		t.Errorf("lastState %+v, want exit code 2", cs.LastTerminationState)
	}
	if next < 9*time.Second || next > backoffInitial {
		t.Errorf("next sync in %v, want about the 10s back-off", next)
	}
}

func TestSyncRestartPolicy(t *testing.T) {
	tests := []struct {
		policy      corev1.RestartPolicy
		code        int32
		wantRestart bool
		wantPhase   corev1.PodPhase
	}{
		{corev1.RestartPolicyNever, 0, false, corev1.PodSucceeded},
		{corev1.RestartPolicyNever, 1, false, corev1.PodFailed},
		{corev1.RestartPolicyOnFailure, 0, false, corev1.PodSucceeded},
		{corev1.RestartPolicyOnFailure, 1, true, corev1.PodRunning},
		{corev1.RestartPolicyAlways, 0, true, corev1.PodRunning},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			pw, rt, client := newTestPodWorker(t, testPod(tt.policy))
			syncOnce(t, pw, client)
			rt.exit("app", tt.code)
			_, p := syncOnce(t, pw, client)
			if restarted := len(rt.created) == 2; restarted != tt.wantRestart {
				t.Errorf("restarted = %v, want %v", restarted, tt.wantRestart)
			}
			if p.Status.Phase != tt.wantPhase {
				t.Errorf("phase %s, want %s", p.Status.Phase, tt.wantPhase)
			}
		})
	}
}

func TestSyncImagePullBackoff(t *testing.T) {
	pw, rt, client := newTestPodWorker(t, testPod(corev1.RestartPolicyAlways))
	rt.pullErr = errors.New("manifest unknown")
	_, p := syncOnce(t, pw, client)
	if w := p.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ErrImagePull" {
		t.Fatalf("state %+v, want ErrImagePull", p.Status.ContainerStatuses[0].State)
	}
	_, p = syncOnce(t, pw, client)
	if w := p.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ImagePullBackOff" {
		t.Fatalf("state %+v, want ImagePullBackOff", p.Status.ContainerStatuses[0].State)
	}
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s, want Pending", p.Status.Phase)
	}
}

func TestSyncInitContainersInOrder(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways)
	pod.Spec.InitContainers = []corev1.Container{{Name: "init1", Image: "i:1"}, {Name: "init2", Image: "i:1"}}
	pw, rt, client := newTestPodWorker(t, pod)
	var order []string
	for _, name := range []string{"init1", "init2"} {
		_, p := syncOnce(t, pw, client)
		if p.Status.Phase != corev1.PodPending {
			t.Fatalf("phase %s while %s runs", p.Status.Phase, name)
		}
		order = append(order, rt.created[len(rt.created)-1].Name)
		rt.exit(name, 0)
	}
	_, p := syncOnce(t, pw, client)
	order = append(order, rt.created[len(rt.created)-1].Name)
	if got := order; len(got) != 3 || got[0] != "init1" || got[1] != "init2" || got[2] != "app" {
		t.Fatalf("start order %v, want init1, init2, app", got)
	}
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase %s, want Running", p.Status.Phase)
	}
}

func TestSyncDeletionConfirmed(t *testing.T) {
	pod := testPod(corev1.RestartPolicyAlways)
	pw, rt, client := newTestPodWorker(t, pod)
	syncOnce(t, pw, client)
	cur, _ := client.CoreV1().Pods("default").Get(context.Background(), "p", metav1.GetOptions{})
	now := metav1.Now()
	grace := int64(3)
	cur.DeletionTimestamp, cur.DeletionGracePeriodSeconds = &now, &grace
	_, done, err := pw.sync(context.Background(), cur)
	if err != nil || !done {
		t.Fatalf("sync of a deleted pod: done %v, %v", done, err)
	}
	if len(rt.stopped) != 1 || len(rt.containers) != 0 || len(rt.sandboxes) != 0 {
		t.Errorf("stopped %v, left %d containers and %d sandboxes", rt.stopped, len(rt.containers), len(rt.sandboxes))
	}
	if _, err := client.CoreV1().Pods("default").Get(context.Background(), "p", metav1.GetOptions{}); err == nil {
		t.Error("the pod object was not deleted")
	}
}

func podIsReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestSyncKeepsTwoAttempts(t *testing.T) {
	pw, rt, client := newTestPodWorker(t, testPod(corev1.RestartPolicyAlways))
	syncOnce(t, pw, client)
	for range 3 {
		rt.exit("app", 1)
		pw.backoffs["app"] = backoff{} // restart at once
		syncOnce(t, pw, client)
	}
	syncOnce(t, pw, client)
	cs, _ := rt.ListContainers(context.Background(), "uid-1")
	if len(cs) != 2 {
		t.Fatalf("%d containers kept, want the newest attempt and the one before", len(cs))
	}
}
