package podsecurity

import (
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

var baselineLabels = map[string]string{LabelEnforce: "baseline"}

// baselineCases exercise every baseline control, each with admitted and
// refused pods. The mutations also apply to restrictedPod.
func baselineCases() []ruleCase {
	return []ruleCase{
		{"unchanged", func(p *corev1.Pod) {}, nil},

		{"hostProcess/false", func(p *corev1.Pod) {
			podSC(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: new(false)}
		}, nil},
		{"hostProcess/pod", func(p *corev1.Pod) {
			podSC(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: new(true)}
		}, []string{"spec.securityContext.windowsOptions.hostProcess"}},
		{"hostProcess/container", func(p *corev1.Pod) {
			containerSC(app(p)).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: new(true)}
		}, []string{"spec.containers[0].securityContext.windowsOptions.hostProcess"}},

		{"hostNamespaces/hostNetwork", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, []string{"spec.hostNetwork"}},
		{"hostNamespaces/hostPID", func(p *corev1.Pod) { p.Spec.HostPID = true }, []string{"spec.hostPID"}},
		{"hostNamespaces/hostIPC", func(p *corev1.Pod) { p.Spec.HostIPC = true }, []string{"spec.hostIPC"}},

		{"privileged/false", func(p *corev1.Pod) { containerSC(app(p)).Privileged = new(false) }, nil},
		{"privileged/container", func(p *corev1.Pod) { containerSC(app(p)).Privileged = new(true) },
			[]string{"spec.containers[0].securityContext.privileged"}},
		{"privileged/initContainer", func(p *corev1.Pod) { containerSC(&p.Spec.InitContainers[0]).Privileged = new(true) },
			[]string{"spec.initContainers[0].securityContext.privileged"}},
		{"privileged/ephemeralContainer", func(p *corev1.Pod) {
			sc := restrictedPod().Spec.Containers[0].SecurityContext
			sc.Privileged = new(true)
			addEphemeral(p, sc)
		}, []string{"spec.ephemeralContainers[0].securityContext.privileged"}},

		{"capabilities/default set", func(p *corev1.Pod) {
			containerSC(app(p)).Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"CHOWN", "NET_BIND_SERVICE", "SETUID"}}
		}, nil},
		{"capabilities/SYS_ADMIN", func(p *corev1.Pod) {
			containerSC(app(p)).Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE", "SYS_ADMIN"}}
		}, []string{"spec.containers[0].securityContext.capabilities.add[1]"}},

		{"hostPath/emptyDir", func(p *corev1.Pod) {}, nil},
		{"hostPath/volume", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}, []string{"spec.volumes[1].hostPath"}},

		{"hostPort/zero", func(p *corev1.Pod) { app(p).Ports = []corev1.ContainerPort{{ContainerPort: 80}} }, nil},
		{"hostPort/set", func(p *corev1.Pod) {
			app(p).Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 81, HostPort: 8081}}
		}, []string{"spec.containers[0].ports[1].hostPort"}},

		{"appArmor/allowed", func(p *corev1.Pod) {
			podSC(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
			containerSC(app(p)).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: new("k8s-app")}
			p.Annotations = map[string]string{
				corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "app":  "localhost/k8s-app",
				corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "init": "runtime/default",
				"unrelated": "unconfined",
			}
		}, nil},
		{"appArmor/pod", func(p *corev1.Pod) {
			podSC(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		}, []string{"spec.securityContext.appArmorProfile.type"}},
		{"appArmor/container", func(p *corev1.Pod) {
			containerSC(app(p)).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		}, []string{"spec.containers[0].securityContext.appArmorProfile.type"}},
		{"appArmor/annotation", func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "app": "unconfined"}
		}, []string{"metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]"}},

		{"seLinux/allowed", func(p *corev1.Pod) {
			podSC(p).SELinuxOptions = &corev1.SELinuxOptions{Type: "container_t", Level: "s0:c1,c2"}
			containerSC(app(p)).SELinuxOptions = &corev1.SELinuxOptions{Type: "container_engine_t"}
		}, nil},
		{"seLinux/type", func(p *corev1.Pod) {
			containerSC(app(p)).SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t"}
		}, []string{"spec.containers[0].securityContext.seLinuxOptions.type"}},
		{"seLinux/user and role", func(p *corev1.Pod) {
			podSC(p).SELinuxOptions = &corev1.SELinuxOptions{User: "system_u", Role: "system_r"}
		}, []string{"spec.securityContext.seLinuxOptions.user", "spec.securityContext.seLinuxOptions.role"}},

		{"procMount/Default", func(p *corev1.Pod) { containerSC(app(p)).ProcMount = new(corev1.DefaultProcMount) }, nil},
		{"procMount/Unmasked", func(p *corev1.Pod) { containerSC(app(p)).ProcMount = new(corev1.UnmaskedProcMount) },
			[]string{"spec.containers[0].securityContext.procMount"}},

		{"seccomp/allowed", func(p *corev1.Pod) {
			containerSC(app(p)).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: new("p.json")}
		}, nil},
		{"seccomp/pod Unconfined", func(p *corev1.Pod) {
			podSC(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, []string{"spec.securityContext.seccompProfile.type"}},
		{"seccomp/container Unconfined", func(p *corev1.Pod) {
			containerSC(app(p)).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, []string{"spec.containers[0].securityContext.seccompProfile.type"}},

		{"sysctls/safe", func(p *corev1.Pod) {
			podSC(p).Sysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"}, {Name: "net.ipv4.tcp_keepalive_time", Value: "60"}}
		}, nil},
		{"sysctls/unsafe", func(p *corev1.Pod) {
			podSC(p).Sysctls = []corev1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "kernel.msgmax", Value: "65536"}}
		}, []string{"spec.securityContext.sysctls[1].name"}},

		{"probeHosts/pod address", func(p *corev1.Pod) {
			app(p).LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz"}}}
			app(p).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{}}}
		}, nil},
		{"probeHosts/set", func(p *corev1.Pod) {
			app(p).LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.0.0.1"}}}
			app(p).ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: "10.0.0.2"}}}
			app(p).Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Host: "metadata"}}}
		}, []string{
			"spec.containers[0].livenessProbe.httpGet.host",
			"spec.containers[0].readinessProbe.tcpSocket.host",
			"spec.containers[0].lifecycle.postStart.httpGet.host",
		}},
	}
}

func TestCheckBaseline(t *testing.T) {
	runCases(t, baselineLabels, baselinePod, baselineCases())
}

// TestCheckRestrictedIncludesBaseline checks that every field baseline
// refuses, restricted refuses too, and reports once although some of its
// rules replace baseline's.
func TestCheckRestrictedIncludesBaseline(t *testing.T) {
	for _, tc := range baselineCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := restrictedPod()
			tc.mutate(p)
			got := paths(Check(restrictedLabels, p))
			for _, want := range tc.want {
				if n := countOf(got, want); n != 1 {
					t.Errorf("%s reported %d times at restricted: %q", want, n, got)
				}
			}
		})
	}
}

func countOf(s []string, v string) int {
	return len(slices.DeleteFunc(slices.Clone(s), func(x string) bool { return x != v }))
}

func TestCheckMessage(t *testing.T) {
	p := baselinePod()
	containerSC(app(p)).Privileged = new(true)
	errs := Check(nil, p)
	want := `violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)`
	if len(errs) != 1 || errs[0].Detail != want {
		t.Fatalf("errors = %v, want one with detail %q", errs, want)
	}
}

func TestCheckPrivilegedAdmitsAnything(t *testing.T) {
	labels := map[string]string{LabelEnforce: "privileged"}
	for _, set := range []struct {
		base  func() *corev1.Pod
		cases []ruleCase
	}{{baselinePod, baselineCases()}, {restrictedPod, restrictedCases()}} {
		for _, tc := range set.cases {
			p := set.base()
			tc.mutate(p)
			if errs := Check(labels, p); errs != nil {
				t.Errorf("%s: %v", tc.name, errs)
			}
		}
	}
}

func TestCheckDoesNotModifyPod(t *testing.T) {
	p := baselinePod()
	containerSC(app(p)).Privileged = new(true)
	p.Spec.HostNetwork = true
	before := p.DeepCopy()
	Check(map[string]string{LabelEnforce: "restricted"}, p)
	if !reflect.DeepEqual(before, p) {
		t.Fatal("Check modified the pod")
	}
}
