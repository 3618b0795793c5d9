package worker

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestWithTaints(t *testing.T) {
	gpu := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	manual := corev1.Taint{Key: "maintenance", Effect: corev1.TaintEffectNoExecute}
	unreachable := corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	tests := []struct {
		name             string
		have, configured []corev1.Taint
		want             []corev1.Taint
	}{
		{"new node gets the configured taints", nil, []corev1.Taint{gpu}, []corev1.Taint{gpu}},
		{"kubectl taint and controller taints survive a restart", []corev1.Taint{manual, unreachable}, []corev1.Taint{gpu},
			[]corev1.Taint{manual, unreachable, gpu}},
		{"a configured taint present already is not doubled", []corev1.Taint{gpu}, []corev1.Taint{gpu}, []corev1.Taint{gpu}},
		{"the same key with another effect is another taint", []corev1.Taint{gpu},
			[]corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoExecute}},
			[]corev1.Taint{gpu, {Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoExecute}}},
		{"nothing configured keeps what is there", []corev1.Taint{manual}, nil, []corev1.Taint{manual}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withTaints(tt.have, tt.configured)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Key != tt.want[i].Key || got[i].Effect != tt.want[i].Effect || got[i].Value != tt.want[i].Value {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
