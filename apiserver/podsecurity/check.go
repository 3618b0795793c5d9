package podsecurity

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Check returns the violations of pod against the level its namespace's
// labels select, one field.Forbidden per offending field, in a stable
// order (rule by rule, the pod before its containers, containers in spec
// order). It returns nil for a compliant pod and for every pod at
// LevelPrivileged. Check only reads pod.
func Check(nsLabels map[string]string, pod *corev1.Pod) field.ErrorList {
	level := LevelOf(nsLabels)
	r := &report{policy: string(level) + ":latest"}
	for _, check := range rules(level) {
		check(pod, r)
	}
	return r.errs
}

// rule checks one control of the standards and reports every field of
// pod that violates it.
type rule func(pod *corev1.Pod, r *report)

// rules returns the controls a level enforces. Restricted enforces
// baseline's, except where it tightens one: its volume types, capabilities
// and seccomp rules replace baseline's hostPath volume, capabilities and
// seccomp rules, so that a field is reported once.
func rules(l Level) []rule {
	switch l {
	case LevelPrivileged:
		return nil
	case LevelBaseline:
		return []rule{
			hostProcess, hostNamespaces, privileged, baselineCapabilities,
			hostPathVolumes, hostPorts, appArmor, seLinux, procMount,
			baselineSeccomp, sysctls, probeHosts,
		}
	}
	return []rule{
		hostProcess, hostNamespaces, privileged, restrictedCapabilities,
		volumeTypes, hostPorts, appArmor, seLinux, procMount,
		restrictedSeccomp, sysctls, probeHosts,
		allowPrivilegeEscalation, runAsNonRoot, runAsUser,
	}
}

// report collects the violations of one pod against one policy.
type report struct {
	policy string // level:version, as in kube-apiserver's messages
	errs   field.ErrorList
}

// forbid records that the field at path violates the control named by
// reason; detail says which setting of which container does.
func (r *report) forbid(path *field.Path, reason, detail string) {
	r.errs = append(r.errs, field.Forbidden(path,
		fmt.Sprintf("violates PodSecurity %q: %s (%s)", r.policy, reason, detail)))
}

var specPath = field.NewPath("spec")

// container is one of a pod's containers with the path of its spec.
type container struct {
	*corev1.Container
	path *field.Path
}

// containersOf returns every container of spec: init containers, then
// containers, then ephemeral containers, whose common part has the same
// fields as a Container.
func containersOf(spec *corev1.PodSpec) []container {
	out := make([]container, 0, len(spec.InitContainers)+len(spec.Containers)+len(spec.EphemeralContainers))
	for i := range spec.InitContainers {
		out = append(out, container{&spec.InitContainers[i], specPath.Child("initContainers").Index(i)})
	}
	for i := range spec.Containers {
		out = append(out, container{&spec.Containers[i], specPath.Child("containers").Index(i)})
	}
	for i := range spec.EphemeralContainers {
		c := (*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon)
		out = append(out, container{c, specPath.Child("ephemeralContainers").Index(i)})
	}
	return out
}

// securityContext is the path of the container's security context.
func (c container) securityContext() *field.Path { return c.path.Child("securityContext") }

// scope is a place where the settings shared by pod and container security
// contexts are set: the pod, whose settings its containers inherit, or one
// container. Nil fields are unset.
type scope struct {
	subject      string      // "pod" or `container "app"`, for messages
	path         *field.Path // of the security context
	seLinux      *corev1.SELinuxOptions
	seccomp      *corev1.SeccompProfile
	appArmor     *corev1.AppArmorProfile
	windows      *corev1.WindowsSecurityContextOptions
	runAsUser    *int64
	runAsNonRoot *bool
}

// podScope returns the pod-level scope of pod.
func podScope(pod *corev1.Pod) scope {
	s := scope{subject: "pod", path: specPath.Child("securityContext")}
	if sc := pod.Spec.SecurityContext; sc != nil {
		s.seLinux, s.seccomp, s.appArmor, s.windows = sc.SELinuxOptions, sc.SeccompProfile, sc.AppArmorProfile, sc.WindowsOptions
		s.runAsUser, s.runAsNonRoot = sc.RunAsUser, sc.RunAsNonRoot
	}
	return s
}

// containerScope returns the scope of one container.
func containerScope(c container) scope {
	s := scope{subject: fmt.Sprintf("container %q", c.Name), path: c.securityContext()}
	if sc := c.SecurityContext; sc != nil {
		s.seLinux, s.seccomp, s.appArmor, s.windows = sc.SELinuxOptions, sc.SeccompProfile, sc.AppArmorProfile, sc.WindowsOptions
		s.runAsUser, s.runAsNonRoot = sc.RunAsUser, sc.RunAsNonRoot
	}
	return s
}

// scopesOf returns the pod's scope followed by every container's.
func scopesOf(pod *corev1.Pod) []scope {
	out := []scope{podScope(pod)}
	for _, c := range containersOf(&pod.Spec) {
		out = append(out, containerScope(c))
	}
	return out
}

// quoteList quotes names and joins them with commas.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// plural returns one for a single item, many otherwise.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
