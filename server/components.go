package server

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/controller"
	"github.com/skiffhq/skiff/scheduler"
)

// leaderComponents lists what runs on the leader, built-in first. The
// scheduler and the controllers register here.
func (s *Server) leaderComponents() []LeaderComponent {
	var out []LeaderComponent
	if !s.noBuiltin {
		out = append(out, LeaderComponent{Name: "scheduler", New: func(c *LeaderClients) (Runnable, error) {
			return scheduler.New(scheduler.Config{Client: c.Kube, Informers: c.Informers, Recorder: c.Recorder, Log: c.Log}), nil
		}})
		out = append(out, LeaderComponent{Name: "controller-manager", New: newControllerManager})
		out = append(out, s.nodeComponents()...)
	}
	return append(out, s.extraLeader...)
}

// newControllerManager builds the workload controllers (replica sets,
// deployments, garbage collection, namespaces, service accounts) over the
// term's shared informers.
func newControllerManager(c *LeaderClients) (Runnable, error) {
	threshold := c.Cluster.TerminatedPodGCThreshold
	if threshold <= 0 {
		threshold = -1 // the controller's "disabled"
	}
	return controller.New(controller.Config{Client: c.Kube, Informers: c.Informers, Recorder: c.Recorder, Log: c.Log,
		TerminatedPodThreshold: threshold}), nil
}

// newRecorder returns an event recorder whose events name component as
// their source, and a func that stops it.
func newRecorder(kube kubernetes.Interface, component string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}), b.Shutdown
}
