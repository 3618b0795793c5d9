package worker

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// startEvents starts client-go's event broadcaster over the worker's
// client and returns its recorder and a stop function that flushes what
// is queued. The recorder counts a repeated event up on the existing
// object (a failing probe is one event with a count, as on a kubelet, not
// one object per failure) and folds bursts of similar events together.
func (w *Worker) startEvents(ctx context.Context) (record.EventRecorder, func()) {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: w.client.CoreV1().Events("")})
	rec := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "skiff-worker", Host: w.cfg.Name})
	return rec, b.Shutdown
}

// event records an event about the pod. Events are best effort: the
// broadcaster writes them in the background and retries a few times.
func (pw *podWorker) event(pod *corev1.Pod, typ, reason, msg string) {
	if rec := pw.m.w.recorder; rec != nil {
		rec.Event(pod, typ, reason, msg)
	}
}
