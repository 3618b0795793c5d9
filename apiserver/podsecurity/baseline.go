package podsecurity

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The baseline controls. Each reports every offending field of the pod,
// its containers (init, regular and ephemeral) included.

// hostProcess refuses Windows HostProcess containers, which run with the
// host's privileges.
func hostProcess(pod *corev1.Pod, r *report) {
	for _, s := range scopesOf(pod) {
		if s.windows != nil && s.windows.HostProcess != nil && *s.windows.HostProcess {
			r.forbid(s.path.Child("windowsOptions", "hostProcess"), "hostProcess",
				s.subject+" must not set securityContext.windowsOptions.hostProcess=true")
		}
	}
}

// hostNamespaces refuses sharing the host's network, PID or IPC namespace.
func hostNamespaces(pod *corev1.Pod, r *report) {
	for _, ns := range []struct {
		name string
		set  bool
	}{
		{"hostNetwork", pod.Spec.HostNetwork},
		{"hostPID", pod.Spec.HostPID},
		{"hostIPC", pod.Spec.HostIPC},
	} {
		if ns.set {
			r.forbid(specPath.Child(ns.name), "host namespaces", ns.name+"=true")
		}
	}
}

// privileged refuses privileged containers, which disable most isolation.
func privileged(pod *corev1.Pod, r *report) {
	for _, c := range containersOf(&pod.Spec) {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			r.forbid(c.securityContext().Child("privileged"), "privileged",
				fmt.Sprintf("container %q must not set securityContext.privileged=true", c.Name))
		}
	}
}

// baselineAllowedCapabilities are the capabilities a container may add at
// baseline: container runtimes' default set.
var baselineAllowedCapabilities = map[corev1.Capability]bool{
	"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true,
	"FSETID": true, "KILL": true, "MKNOD": true, "NET_BIND_SERVICE": true,
	"SETFCAP": true, "SETGID": true, "SETPCAP": true, "SETUID": true,
	"SYS_CHROOT": true,
}

// baselineCapabilities refuses adding capabilities beyond the runtime
// default set.
func baselineCapabilities(pod *corev1.Pod, r *report) {
	forbidAddedCapabilities(pod, r, "non-default capabilities", baselineAllowedCapabilities)
}

// forbidAddedCapabilities reports every capability a container adds that
// allowed does not hold.
func forbidAddedCapabilities(pod *corev1.Pod, r *report, reason string, allowed map[corev1.Capability]bool) {
	for _, c := range containersOf(&pod.Spec) {
		if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil {
			continue
		}
		for i, capability := range c.SecurityContext.Capabilities.Add {
			if !allowed[capability] {
				r.forbid(c.securityContext().Child("capabilities", "add").Index(i), reason,
					fmt.Sprintf("container %q must not include %q in securityContext.capabilities.add", c.Name, capability))
			}
		}
	}
}

// hostPathVolumes refuses hostPath volumes, which reach the node's files.
func hostPathVolumes(pod *corev1.Pod, r *report) {
	for i, v := range pod.Spec.Volumes {
		if v.HostPath != nil {
			r.forbid(specPath.Child("volumes").Index(i).Child("hostPath"), "hostPath volumes",
				fmt.Sprintf("volume %q must not use hostPath", v.Name))
		}
	}
}

// hostPorts refuses ports bound on the node's addresses.
func hostPorts(pod *corev1.Pod, r *report) {
	for _, c := range containersOf(&pod.Spec) {
		for i, p := range c.Ports {
			if p.HostPort != 0 {
				r.forbid(c.path.Child("ports").Index(i).Child("hostPort"), "hostPort",
					fmt.Sprintf("container %q must not use hostPort %d", c.Name, p.HostPort))
			}
		}
	}
}

// appArmor refuses disabling the runtime's default AppArmor profile; a
// profile loaded on the node (Localhost) may replace it. The deprecated
// per-container annotations, which kubelets still honour, are checked too.
func appArmor(pod *corev1.Pod, r *report) {
	for _, s := range scopesOf(pod) {
		if s.appArmor == nil {
			continue
		}
		switch s.appArmor.Type {
		case corev1.AppArmorProfileTypeRuntimeDefault, corev1.AppArmorProfileTypeLocalhost:
		default:
			r.forbid(s.path.Child("appArmorProfile", "type"), "forbidden AppArmor profile",
				fmt.Sprintf("%s must not set securityContext.appArmorProfile.type to %q", s.subject, s.appArmor.Type))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(pod.Annotations)) {
		if !strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			continue
		}
		if v := pod.Annotations[k]; v != "" && v != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault && !strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
			r.forbid(field.NewPath("metadata", "annotations").Key(k), "forbidden AppArmor profile",
				fmt.Sprintf("%s=%q", k, v))
		}
	}
}

// seLinuxAllowedTypes are the SELinux types a pod or container may ask for
// (empty: the runtime's default).
var seLinuxAllowedTypes = map[string]bool{
	"": true, "container_t": true, "container_init_t": true, "container_kvm_t": true,
	"container_engine_t": true, // since policy version 1.31
}

// seLinux refuses custom SELinux users and roles, and types other than the
// container types.
func seLinux(pod *corev1.Pod, r *report) {
	for _, s := range scopesOf(pod) {
		o := s.seLinux
		if o == nil {
			continue
		}
		p := s.path.Child("seLinuxOptions")
		if !seLinuxAllowedTypes[o.Type] {
			r.forbid(p.Child("type"), "seLinuxOptions",
				fmt.Sprintf("%s must not set securityContext.seLinuxOptions.type to %q", s.subject, o.Type))
		}
		if o.User != "" {
			r.forbid(p.Child("user"), "seLinuxOptions", s.subject+" must not set securityContext.seLinuxOptions.user")
		}
		if o.Role != "" {
			r.forbid(p.Child("role"), "seLinuxOptions", s.subject+" must not set securityContext.seLinuxOptions.role")
		}
	}
}

// procMount refuses unmasking /proc.
func procMount(pod *corev1.Pod, r *report) {
	for _, c := range containersOf(&pod.Spec) {
		if sc := c.SecurityContext; sc != nil && sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
			r.forbid(c.securityContext().Child("procMount"), "procMount",
				fmt.Sprintf("container %q must not set securityContext.procMount to %q", c.Name, *sc.ProcMount))
		}
	}
}

// baselineSeccomp refuses running without a seccomp filter.
func baselineSeccomp(pod *corev1.Pod, r *report) {
	for _, s := range scopesOf(pod) {
		if s.seccomp != nil && s.seccomp.Type == corev1.SeccompProfileTypeUnconfined {
			r.forbid(s.path.Child("seccompProfile", "type"), "seccompProfile",
				fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %q", s.subject, s.seccomp.Type))
		}
	}
}

// safeSysctls are the sysctls a pod may set: namespaced by the kernel and
// isolated from other pods on the node. Later policy versions added some
// (in parentheses).
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced":              true,
	"net.ipv4.ip_local_port_range":        true,
	"net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.tcp_syncookies":             true,
	"net.ipv4.ping_group_range":           true,
	"net.ipv4.ip_local_reserved_ports":    true, // (1.27)
	"net.ipv4.tcp_keepalive_time":         true, // (1.29)
	"net.ipv4.tcp_fin_timeout":            true, // (1.29)
	"net.ipv4.tcp_keepalive_intvl":        true, // (1.29)
	"net.ipv4.tcp_keepalive_probes":       true, // (1.29)
	"net.ipv4.tcp_rmem":                   true, // (1.32)
	"net.ipv4.tcp_wmem":                   true, // (1.32)
	"net.ipv4.tcp_slow_start_after_idle":  true, // (1.37)
	"net.ipv4.tcp_notsent_lowat":          true, // (1.37)
}

// sysctls refuses sysctls outside the safe set.
func sysctls(pod *corev1.Pod, r *report) {
	if pod.Spec.SecurityContext == nil {
		return
	}
	for i, s := range pod.Spec.SecurityContext.Sysctls {
		if !safeSysctls[s.Name] {
			r.forbid(specPath.Child("securityContext", "sysctls").Index(i).Child("name"), "forbidden sysctls",
				fmt.Sprintf("pod must not set sysctl %q", s.Name))
		}
	}
}

// probeHosts refuses probes and lifecycle hooks aimed at a host other than
// the pod's own address, which would let the kubelet reach it on the
// pod's behalf (policy version 1.34).
func probeHosts(pod *corev1.Pod, r *report) {
	for _, c := range containersOf(&pod.Spec) {
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
		}{
			{"livenessProbe", c.LivenessProbe},
			{"readinessProbe", c.ReadinessProbe},
			{"startupProbe", c.StartupProbe},
		} {
			if p.probe != nil {
				forbidHandlerHost(r, c, c.path.Child(p.name), p.probe.HTTPGet, p.probe.TCPSocket)
			}
		}
		if c.Lifecycle == nil {
			continue
		}
		for _, h := range []struct {
			name    string
			handler *corev1.LifecycleHandler
		}{
			{"postStart", c.Lifecycle.PostStart},
			{"preStop", c.Lifecycle.PreStop},
		} {
			if h.handler != nil {
				forbidHandlerHost(r, c, c.path.Child("lifecycle", h.name), h.handler.HTTPGet, h.handler.TCPSocket)
			}
		}
	}
}

// forbidHandlerHost reports the host of a probe's or hook's HTTP or TCP
// action at path.
func forbidHandlerHost(r *report, c container, path *field.Path, httpGet *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction) {
	if httpGet != nil && httpGet.Host != "" {
		r.forbid(path.Child("httpGet", "host"), "probe or lifecycle host",
			fmt.Sprintf("container %q must not use host %q", c.Name, httpGet.Host))
	}
	if tcp != nil && tcp.Host != "" {
		r.forbid(path.Child("tcpSocket", "host"), "probe or lifecycle host",
			fmt.Sprintf("container %q must not use host %q", c.Name, tcp.Host))
	}
}
