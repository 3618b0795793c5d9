package podsecurity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var restrictedLabels = map[string]string{LabelEnforce: "restricted"}

// restrictedCases exercise every control restricted adds or tightens,
// each with admitted and refused pods, starting from restrictedPod.
func restrictedCases() []ruleCase {
	volume := func(name string, vs corev1.VolumeSource) func(p *corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{{Name: name, VolumeSource: vs}} }
	}
	return []ruleCase{
		{"compliant", func(p *corev1.Pod) {}, nil},

		{"volumes/allowed types", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "a", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
				{Name: "b", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d"}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}},
				{Name: "d", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
				{Name: "f", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}},
				{Name: "g", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
				{Name: "h", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			}
		}, nil},
		{"volumes/hostPath", volume("host", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}),
			[]string{"spec.volumes[0].hostPath"}},
		{"volumes/nfs", volume("nfs", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "s", Path: "/"}}),
			[]string{"spec.volumes[0].nfs"}},
		{"volumes/gitRepo", volume("git", corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "r"}}),
			[]string{"spec.volumes[0].gitRepo"}},
		{"volumes/two sources", volume("two", corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/"}}),
			[]string{"spec.volumes[0].hostPath"}},
		{"volumes/image", volume("img", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "busybox"}}),
			[]string{"spec.volumes[0].image"}},

		{"allowPrivilegeEscalation/unset", func(p *corev1.Pod) { app(p).SecurityContext.AllowPrivilegeEscalation = nil },
			[]string{"spec.containers[0].securityContext.allowPrivilegeEscalation"}},
		{"allowPrivilegeEscalation/true", func(p *corev1.Pod) { p.Spec.InitContainers[0].SecurityContext.AllowPrivilegeEscalation = new(true) },
			[]string{"spec.initContainers[0].securityContext.allowPrivilegeEscalation"}},

		{"runAsNonRoot/every container", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsNonRoot = nil
			for _, c := range []*corev1.Container{&p.Spec.InitContainers[0], app(p)} {
				c.SecurityContext.RunAsNonRoot = new(true)
			}
		}, nil},
		{"runAsNonRoot/unset", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsNonRoot = nil
			p.Spec.InitContainers[0].SecurityContext.RunAsNonRoot = new(true)
		}, []string{"spec.securityContext.runAsNonRoot"}},
		{"runAsNonRoot/pod false", func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsNonRoot = new(false) },
			[]string{"spec.securityContext.runAsNonRoot"}},
		{"runAsNonRoot/container false", func(p *corev1.Pod) { app(p).SecurityContext.RunAsNonRoot = new(false) },
			[]string{"spec.containers[0].securityContext.runAsNonRoot"}},

		{"runAsUser/non-zero", func(p *corev1.Pod) {
			p.Spec.SecurityContext.RunAsUser = new(int64(1000))
			app(p).SecurityContext.RunAsUser = new(int64(1001))
		}, nil},
		{"runAsUser/pod 0", func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsUser = new(int64(0)) },
			[]string{"spec.securityContext.runAsUser"}},
		{"runAsUser/container 0", func(p *corev1.Pod) { app(p).SecurityContext.RunAsUser = new(int64(0)) },
			[]string{"spec.containers[0].securityContext.runAsUser"}},

		{"seccomp/every container", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = nil
			p.Spec.InitContainers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			app(p).SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: new("p.json")}
		}, nil},
		{"seccomp/unset", func(p *corev1.Pod) { p.Spec.SecurityContext.SeccompProfile = nil },
			[]string{"spec.securityContext.seccompProfile.type"}},
		{"seccomp/pod Unconfined", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, []string{"spec.securityContext.seccompProfile.type"}},
		{"seccomp/container Unconfined", func(p *corev1.Pod) {
			app(p).SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, []string{"spec.containers[0].securityContext.seccompProfile.type"}},

		{"capabilities/NET_BIND_SERVICE", func(p *corev1.Pod) {
			app(p).SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}, nil},
		{"capabilities/no drop", func(p *corev1.Pod) { app(p).SecurityContext.Capabilities = nil },
			[]string{"spec.containers[0].securityContext.capabilities.drop"}},
		{"capabilities/drop some", func(p *corev1.Pod) {
			app(p).SecurityContext.Capabilities.Drop = []corev1.Capability{"NET_RAW"}
		}, []string{"spec.containers[0].securityContext.capabilities.drop"}},
		{"capabilities/add baseline", func(p *corev1.Pod) {
			app(p).SecurityContext.Capabilities.Add = []corev1.Capability{"CHOWN"}
		}, []string{"spec.containers[0].securityContext.capabilities.add[0]"}},
	}
}

func TestCheckRestricted(t *testing.T) {
	runCases(t, restrictedLabels, restrictedPod, restrictedCases())
}

// TestCheckRestrictedDefaults checks that a pod leaving everything at its
// default is refused at restricted for every setting it must make.
func TestCheckRestrictedDefaults(t *testing.T) {
	runCases(t, restrictedLabels, baselinePod, []ruleCase{{"defaults", func(p *corev1.Pod) {}, []string{
		"spec.initContainers[0].securityContext.capabilities.drop",
		"spec.containers[0].securityContext.capabilities.drop",
		"spec.securityContext.seccompProfile.type",
		"spec.initContainers[0].securityContext.allowPrivilegeEscalation",
		"spec.containers[0].securityContext.allowPrivilegeEscalation",
		"spec.securityContext.runAsNonRoot",
	}}})
	p := baselinePod()
	errs := Check(restrictedLabels, p)
	want := `violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or containers "init", "app" must set securityContext.runAsNonRoot=true)`
	if last := errs[len(errs)-1]; last.Detail != want {
		t.Errorf("detail = %q, want %q", last.Detail, want)
	}
}
