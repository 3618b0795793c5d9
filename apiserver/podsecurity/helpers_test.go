package podsecurity

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ruleCase is one named pod change and the field paths Check must refuse
// after it (none: the pod is admitted).
type ruleCase struct {
	name   string
	mutate func(p *corev1.Pod)
	want   []string
}

// baselinePod returns a pod that leaves every security setting at its
// default: admitted at baseline, refused at restricted.
func baselinePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
			Containers:     []corev1.Container{{Name: "app", Image: "busybox"}},
			Volumes:        []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
}

// restrictedPod returns a pod that complies with the restricted level.
func restrictedPod() *corev1.Pod {
	p := baselinePod()
	p.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   new(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	for _, c := range []*corev1.Container{&p.Spec.InitContainers[0], &p.Spec.Containers[0]} {
		c.SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
	return p
}

// podSC returns p's security context, creating it if unset.
func podSC(p *corev1.Pod) *corev1.PodSecurityContext {
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	return p.Spec.SecurityContext
}

// containerSC returns c's security context, creating it if unset.
func containerSC(c *corev1.Container) *corev1.SecurityContext {
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	return c.SecurityContext
}

// app is p's regular container.
func app(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[0] }

// addEphemeral gives p an ephemeral container "debug" with security
// context sc.
func addEphemeral(p *corev1.Pod, sc *corev1.SecurityContext) {
	p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox", SecurityContext: sc},
	})
}

// paths returns the field paths of errs.
func paths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

// runCases checks every case against base under the namespace labels.
func runCases(t *testing.T, labels map[string]string, base func() *corev1.Pod, cases []ruleCase) {
	t.Helper()
	policy := `violates PodSecurity "` + string(LevelOf(labels)) + `:latest": `
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.mutate(p)
			errs := Check(labels, p)
			if got := paths(errs); !slices.Equal(got, tc.want) {
				t.Fatalf("paths = %q, want %q\n%v", got, tc.want, errs.ToAggregate())
			}
			for _, e := range errs {
				if e.Type != field.ErrorTypeForbidden || !strings.HasPrefix(e.Detail, policy) {
					t.Errorf("error %v: want Forbidden starting %q", e, policy)
				}
			}
		})
	}
}
