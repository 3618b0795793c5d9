package worker_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestOOMKilledReported runs a container that allocates far past its
// memory limit: the kernel's OOM killer kills it, and the worker reports
// the termination as Kubernetes does, reason OOMKilled with exit code
// 137, rather than a plain Error.
func TestOOMKilledReported(t *testing.T) {
	e := newEnv(t)
	e.createPod(t, "hungry", func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		c := &p.Spec.Containers[0]
		c.Command = []string{"/app", "alloc", "512"}
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	})
	var term *corev1.ContainerStateTerminated
	e.waitFor(t, "hungry terminated", 60*time.Second, func() bool {
		p := e.pod("hungry")
		if p == nil || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		term = p.Status.ContainerStatuses[0].State.Terminated
		return term != nil
	})
	if term.Reason != "OOMKilled" || term.ExitCode != 137 {
		t.Errorf("terminated with reason %q, exit code %d; want OOMKilled, 137", term.Reason, term.ExitCode)
	}
	if p := e.pod("hungry"); p.Status.Phase != corev1.PodFailed {
		t.Errorf("phase %s, want Failed", p.Status.Phase)
	}

	// A container that stays under its limit is not OOMKilled.
	e.createPod(t, "modest", func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		c := &p.Spec.Containers[0]
		c.Command = []string{"/app", "alloc", "8"}
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	})
	e.waitFor(t, "modest terminated", 60*time.Second, func() bool {
		p := e.pod("modest")
		if p == nil || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		term = p.Status.ContainerStatuses[0].State.Terminated
		return term != nil
	})
	if term.Reason != "Completed" || term.ExitCode != 0 {
		t.Errorf("modest: reason %q, exit code %d; want Completed, 0", term.Reason, term.ExitCode)
	}
}
