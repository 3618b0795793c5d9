package server

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// leaderComponents lists what runs on the leader, built-in first. The
// scheduler and the controllers register here.
func (s *Server) leaderComponents() []LeaderComponent {
	var out []LeaderComponent
	if !s.noBuiltin {
		out = append(out, s.nodeComponents()...)
	}
	return append(out, s.extraLeader...)
}

// newRecorder returns an event recorder whose events name component as
// their source, and a func that stops it.
func newRecorder(kube kubernetes.Interface, component string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}), b.Shutdown
}
