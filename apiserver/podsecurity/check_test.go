package podsecurity

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			cs[i].SecurityContext = &corev1.SecurityContext{
				AllowPrivilegeEscalation: new(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
			}
		}
	}
	return p
}

// app returns the security context of the pod's first container, made
// if absent.
func app(p *corev1.Pod) *corev1.SecurityContext {
	c := &p.Spec.Containers[0]
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	return c.SecurityContext
}

// podSC returns the pod's security context, made if absent.
func podSC(p *corev1.Pod) *corev1.PodSecurityContext {
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	return p.Spec.SecurityContext
}

func labels(l string) map[string]string { return map[string]string{LabelEnforce: l} }

func newChecker(t testing.TB) *Checker {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// TestCheck runs the library-backed Check over a compliant pod at each
// level and one violation of each control family, and compares the whole
// message with kube-apiserver's wording.
func TestCheck(t *testing.T) {
	const (
		base  = `violates PodSecurity "baseline:latest": `
		restr = `violates PodSecurity "restricted:latest": `
	)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		pod    func() *corev1.Pod
		mutate func(p *corev1.Pod)
		want   string // the whole message; "" if the pod is admitted
	}{
		// A compliant pod at each level.
		{"privileged admits a host pod", labels("privileged"), baselinePod, func(p *corev1.Pod) {
			p.Spec.HostNetwork, p.Spec.HostPID = true, true
			app(p).Privileged = new(true)
		}, ""},
		{"baseline admits defaults", labels("baseline"), baselinePod, nil, ""},
		{"no label is baseline", nil, baselinePod, nil, ""},
		{"restricted admits a hardened pod", labels("restricted"), restrictedPod, nil, ""},
		{"restricted admits per-container seccomp and runAsNonRoot", labels("restricted"), restrictedPod, func(p *corev1.Pod) {
			p.Spec.SecurityContext = nil
			for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
				for i := range cs {
					cs[i].SecurityContext.RunAsNonRoot = new(true)
					cs[i].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: new("p.json")}
				}
			}
		}, ""},
		{"baseline admits safe sysctls and default capabilities", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			podSC(p).Sysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}
			app(p).Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"CHOWN", "NET_BIND_SERVICE"}}
		}, ""},

		// Baseline controls, checked at baseline.
		{"host namespaces", nil, baselinePod, func(p *corev1.Pod) { p.Spec.HostPID = true },
			base + `host namespaces (hostPID=true)`},
		{"privileged", labels("baseline"), baselinePod, func(p *corev1.Pod) { app(p).Privileged = new(true) },
			base + `privileged (container "app" must not set securityContext.privileged=true)`},
		{"capabilities", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			app(p).Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}
		}, base + `non-default capabilities (container "app" must not include "SYS_ADMIN" in securityContext.capabilities.add)`},
		{"hostPath volumes", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}, base + `hostPath volumes (volume "root")`},
		{"host ports", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		}, base + `hostPort (container "app" uses hostPort 8080)`},
		{"AppArmor", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			app(p).AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		}, base + `forbidden AppArmor profile (container "app" must not set AppArmor profile type to "Unconfined")`},
		{"SELinux", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			podSC(p).SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t"}
		}, base + `seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")`},
		{"procMount", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			app(p).ProcMount = new(corev1.UnmaskedProcMount)
		}, base + `procMount (container "app" must not set securityContext.procMount to "Unmasked")`},
		{"seccomp", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			podSC(p).SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, base + `seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")`},
		{"sysctls", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			podSC(p).Sysctls = []corev1.Sysctl{{Name: "kernel.shm_rmid_forced", Value: "0"}, {Name: "net.core.somaxconn", Value: "1"}}
		}, base + `forbidden sysctls (net.core.somaxconn)`},
		{"probe host", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "10.0.0.1"}}}
		}, base + `probe or lifecycle host (container "app" uses probe or lifecycle host "10.0.0.1")`},
		{"Windows hostProcess", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			app(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: new(true)}
		}, base + `hostProcess (container "app" must not set securityContext.windowsOptions.hostProcess=true)`},
		{"ephemeral containers are checked", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", SecurityContext: &corev1.SecurityContext{Privileged: new(true)},
			}}}
		}, base + `privileged (container "debug" must not set securityContext.privileged=true)`},
		{"violations in one message", labels("baseline"), baselinePod, func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			app(p).Privileged = new(true)
		}, base + `host namespaces (hostNetwork=true), privileged (container "app" must not set securityContext.privileged=true)`},

		// Restricted controls, on an otherwise compliant pod.
		{"restricted enforces baseline", labels("restricted"), restrictedPod, func(p *corev1.Pod) { p.Spec.HostIPC = true },
			restr + `host namespaces (hostIPC=true)`},
		{"volume types", labels("restricted"), restrictedPod, func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/"}}})
		}, restr + `restricted volume types (volume "nfs" uses restricted volume type "nfs")`},
		{"allowPrivilegeEscalation", labels("restricted"), restrictedPod, func(p *corev1.Pod) { app(p).AllowPrivilegeEscalation = nil },
			restr + `allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)`},
		{"capabilities drop ALL", labels("restricted"), restrictedPod, func(p *corev1.Pod) {
			app(p).Capabilities = &corev1.Capabilities{Add: []corev1.Capability{"CHOWN"}}
		}, restr + `unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]; container "app" must not include "CHOWN" in securityContext.capabilities.add)`},
		{"runAsNonRoot", labels("restricted"), restrictedPod, func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsNonRoot = nil },
			restr + `runAsNonRoot != true (pod or containers "init", "app" must set securityContext.runAsNonRoot=true)`},
		{"runAsUser", labels("restricted"), restrictedPod, func(p *corev1.Pod) { app(p).RunAsUser = new(int64(0)) },
			restr + `runAsUser=0 (container "app" must not set runAsUser=0)`},
		{"seccomp required", labels("restricted"), restrictedPod, func(p *corev1.Pod) { p.Spec.SecurityContext.SeccompProfile = nil },
			restr + `seccompProfile (pod or containers "init", "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
		{"no relaxation for hostUsers: false", labels("restricted"), restrictedPod, func(p *corev1.Pod) {
			p.Spec.HostUsers = new(false)
			p.Spec.SecurityContext.RunAsNonRoot = nil
		}, restr + `runAsNonRoot != true (pod or containers "init", "app" must set securityContext.runAsNonRoot=true)`},

		// The label's fail-closed rule.
		{"unknown level is restricted", labels("privilegd"), baselinePod, func(p *corev1.Pod) { p.Spec.SecurityContext = nil },
			restr + `allowPrivilegeEscalation != false (containers "init", "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (containers "init", "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or containers "init", "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or containers "init", "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := tc.pod()
			if tc.mutate != nil {
				tc.mutate(pod)
			}
			err := newChecker(t).Check(tc.labels, pod)
			var got string
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Check:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestCheckDoesNotModifyPod checks that Check, which clears hostUsers on
// the spec it evaluates, leaves the caller's pod alone.
func TestCheckDoesNotModifyPod(t *testing.T) {
	pod := restrictedPod()
	pod.Spec.HostUsers = new(false)
	app(pod).RunAsUser = new(int64(0))
	before := pod.DeepCopy()
	if err := newChecker(t).Check(labels("restricted"), pod); err == nil {
		t.Fatal("Check admitted a root container")
	}
	if !equality.Semantic.DeepEqual(before, pod) {
		t.Errorf("Check modified the pod: %#v", pod.Spec)
	}
}

// BenchmarkCheck measures one evaluation of a compliant pod at
// restricted, the most checks a pod goes through.
func BenchmarkCheck(b *testing.B) {
	c, pod := newChecker(b), restrictedPod()
	for b.Loop() {
		if err := c.Check(labels("restricted"), pod); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCheck feeds Check pods decoded from arbitrary JSON, as a client may
// send them, under arbitrary enforce labels. Check must not panic, must
// admit everything at privileged, and the levels must nest: a pod
// restricted admits, baseline admits too.
func FuzzCheck(f *testing.F) {
	for _, seed := range []struct{ label, pod string }{
		{"baseline", `{"spec":{"containers":[{"name":"app","image":"busybox"}]}}`},
		{"restricted", `{"spec":{"hostNetwork":true,"containers":[{"name":"app","securityContext":{"privileged":true}}]}}`},
		{"privilegd", `{"spec":{"hostUsers":false,"securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"a","securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}`},
		{"", `{"metadata":{"annotations":{"container.apparmor.security.beta.kubernetes.io/a":"unconfined"}},"spec":{"volumes":[{"name":"h","hostPath":{"path":"/"}}],"ephemeralContainers":[{"name":"d","ports":[{"hostPort":1}]}]}}`},
	} {
		f.Add(seed.label, []byte(seed.pod))
	}
	c := newChecker(f)
	f.Fuzz(func(t *testing.T, label string, data []byte) {
		var pod corev1.Pod
		if json.Unmarshal(data, &pod) != nil {
			return
		}
		_ = c.Check(labels(label), &pod)
		if err := c.Check(labels("privileged"), &pod); err != nil {
			t.Fatalf("privileged refused a pod: %v", err)
		}
		if c.Check(labels("restricted"), &pod) == nil {
			if err := c.Check(labels("baseline"), &pod); err != nil {
				t.Fatalf("restricted admits a pod baseline refuses: %v", err)
			}
		}
	})
}
