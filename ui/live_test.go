package ui_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/testcluster"
)

// podRow is a JavaScript expression for the text of the pods list's row
// of the pod named %q ("" when there is none).
const podRow = `(() => { const r = [...document.querySelectorAll("#pods .rows > [role=row]")].find((r) => r.children[0].textContent === %q);
  return r ? [...r.children].slice(0, 8).map((c) => c.textContent).join("|") : ""; })()`

// TestPodListUpdatesLiveWhenAPodRuns opens the workloads page, then moves
// a pod from Pending to Running through the API as a worker would (a
// status update), and checks the pods list shows the new status, ready
// count and IP without a reload: from the watch the page holds, not from a
// poll. It logs how long the change took to show; the benchmark measures
// it among 1,000 pods.
func TestPodListUpdatesLiveWhenAPodRuns(t *testing.T) {
	b := newBrowser(t)
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	pod := benchPod(7)
	pod.Spec.NodeName = "n1"
	p, err := kc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	base := c.URL(0)
	b.signIn(base, c.AdminToken())
	b.navigate("workloads", base+"/ui/#/workloads")
	b.waitTrue("pending pod listed", fmt.Sprintf(podRow+`.includes("|0/1|Pending|")`, p.Name))
	// A reload would drop this mark.
	b.eval(`(window.__mark = "before-update")`)

	now := metav1.Now()
	p.Status = corev1.PodStatus{
		QOSClass: p.Status.QOSClass, Phase: corev1.PodRunning, PodIP: "10.244.1.7", StartTime: &now,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: p.Spec.Containers[0].Image, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}},
	}
	if _, err := kc.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	updated := time.Now()
	b.waitTrue("running pod listed", fmt.Sprintf(podRow+`.includes("|1/1|Running|0|n1|10.244.1.7|")`, p.Name))
	t.Logf("the pod's new status showed on the page %v after the status update returned", time.Since(updated).Round(time.Millisecond))
	if got := b.eval(`String(window.__mark)`); got != "before-update" {
		t.Fatalf("the page reloaded to show the change (mark %q)", got)
	}
	b.checkNoErrors()
}
