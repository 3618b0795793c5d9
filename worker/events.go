package worker

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// event records an event about the pod. Events are best effort: they are
// created in the background with a short deadline, and a failure is only
// logged. A node may create events but not patch them, so repeats are new
// events rather than a count on an old one.
func (pw *podWorker) event(pod *corev1.Pod, typ, reason, msg string) {
	w := pw.m.w
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", pod.Name, time.Now().UnixNano()),
			Namespace: pod.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, ResourceVersion: pod.ResourceVersion,
		},
		Reason: reason, Message: msg, Type: typ,
		Source:         corev1.EventSource{Component: "skiff-worker", Host: w.cfg.Name},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "skiff.io/worker", ReportingInstance: w.cfg.Name,
	}
	w.events.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := w.client.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			w.log.Debug("event not recorded", "reason", reason, "err", err)
		}
	})
}
