package ui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/skiffhq/skiff/internal/testimages"
	"github.com/skiffhq/skiff/testcluster"
)

// TestDashboardFollowsLiveLogs opens a pod's page in the dashboard while
// a real worker runs the pod in containerd, and checks that the logs view
// shows what the container printed and then, in the same followed stream,
// a line the container prints only later: the SIGTERM notice when the test
// deletes the pod. The logs view calls pods/{name}/log with follow and
// timestamps, which the API server proxies to the worker's endpoint.
func TestDashboardFollowsLiveLogs(t *testing.T) {
	b := newBrowser(t)
	c := testcluster.Start(t, testcluster.Options{})
	kc, err := kubernetes.NewForConfig(c.RestConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, c, kc, "w1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	grace := int64(20)
	_, err = kc.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "chatty"},
		Spec: corev1.PodSpec{
			NodeName: "w1", TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "web", Image: testimages.Serve.Ref(), ImagePullPolicy: corev1.PullNever,
				// On SIGTERM serve logs a line and exits after this delay.
				Env: []corev1.EnvVar{{Name: "TERM_DELAY", Value: "2s"}},
			}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFor(ctx, func() bool {
		p, err := kc.CoreV1().Pods("default").Get(ctx, "chatty", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning
	}); err != nil {
		t.Fatalf("pod chatty never ran on the worker: %v", err)
	}

	base := c.URL(0)
	b.signIn(base, c.AdminToken())
	b.navigate("pod page", base+"/ui/#/pod/default/chatty")
	b.waitTrue("first log line", `document.querySelector("pre.logs").textContent.includes("serve: listening on :8080")`)
	if got := b.eval(`document.querySelector("#log-follow").checked ? "follow" : "no"`); got != "follow" {
		t.Fatalf("the logs view does not follow by default (%s)", got)
	}
	// Cut the browser off the network for a moment: the followed stream
	// breaks, and the view resumes it from its last line.
	b.setOffline(true)
	b.waitTrue("stream broken", `document.querySelector("#log-status").textContent.includes("reconnecting")`)
	b.setOffline(false)
	b.waitTrue("stream resumed", `document.querySelector("#log-status").textContent === "Following."`)
	// A mark on the element: if the page re-fetched the logs, it would
	// have cleared and refilled it, and a reload would drop the mark.
	b.eval(`(document.querySelector("pre.logs").dataset.mark = "before-delete")`)

	if err := kc.CoreV1().Pods("default").Delete(ctx, "chatty", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	b.waitTrue("the SIGTERM line, live", `document.querySelector("pre.logs").textContent.includes("serve: SIGTERM, exiting in 2s")`)
	t.Logf("a line the container printed appeared on the page %v after the delete that caused it", time.Since(deleted).Round(time.Millisecond))
	logs := b.eval(`document.querySelector("pre.logs").dataset.mark + "\n" + document.querySelector("pre.logs").textContent`)
	// Chromium drops its connections when the host's network changes
	// (ERR_NETWORK_CHANGED), as it does when the worker tears a pod's veth
	// down: the view then resumes from the last line it showed, so each
	// line is there once either way.
	if !strings.HasPrefix(logs, "before-delete\n") || strings.Count(logs, "serve: listening") != 1 || strings.Count(logs, "serve: SIGTERM") != 1 {
		t.Fatalf("the logs view was reloaded or repeated lines:\n%s", logs)
	}

	// The worker confirms the deletion once the container has exited and
	// its sandbox is gone; only then may the worker stop.
	if err := c.WaitFor(ctx, func() bool {
		_, err := kc.CoreV1().Pods("default").Get(ctx, "chatty", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}); err != nil {
		t.Fatalf("pod chatty was not removed: %v", err)
	}
	b.checkNoErrors()
}

// networkConditions are the parameters of Network.emulateNetworkConditions,
// which this Chromium (148) takes and cdproto no longer declares.
type networkConditions struct {
	Offline            bool    `json:"offline"`
	Latency            float64 `json:"latency"`
	DownloadThroughput float64 `json:"downloadThroughput"`
	UploadThroughput   float64 `json:"uploadThroughput"`
}

var emulateNetworkConditions = cdp.Command[networkConditions, cdp.Empty]{Method: "Network.emulateNetworkConditions"}

// setOffline takes the page off the network (failing its open requests)
// or back on.
func (b *browser) setOffline(offline bool) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulateNetworkConditions, networkConditions{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		b.t.Fatalf("emulate offline=%v: %v", offline, err)
	}
}
