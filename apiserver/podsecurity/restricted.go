package podsecurity

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The restricted controls, which the restricted level adds to baseline's
// or puts in place of the baseline controls they tighten.

// restrictedVolumeTypes are the volume sources a restricted pod may use,
// by JSON name: ephemeral or cluster-managed storage, nothing that names
// a host or a storage backend directly.
var restrictedVolumeTypes = map[string]bool{
	"configMap": true, "csi": true, "downwardAPI": true, "emptyDir": true,
	"ephemeral": true, "persistentVolumeClaim": true, "projected": true,
	"secret": true,
}

// volumeTypes refuses every volume source outside restrictedVolumeTypes,
// hostPath included (it replaces baseline's hostPathVolumes). A source
// added to the API later is refused until it is listed, and a volume that
// sets several sources (which validation refuses) has each checked.
func volumeTypes(pod *corev1.Pod, r *report) {
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		for _, name := range volumeSources(&v.VolumeSource) {
			if !restrictedVolumeTypes[name] {
				r.forbid(specPath.Child("volumes").Index(i).Child(name), "restricted volume types",
					fmt.Sprintf("volume %q must not use volume type %q", v.Name, name))
			}
		}
	}
}

// volumeSources returns the JSON names of the sources vs sets.
func volumeSources(vs *corev1.VolumeSource) []string {
	var out []string
	v := reflect.ValueOf(vs).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}

// restrictedCapabilities requires every container to drop ALL
// capabilities and lets it add back only NET_BIND_SERVICE (it replaces
// baselineCapabilities).
func restrictedCapabilities(pod *corev1.Pod, r *report) {
	for _, c := range containersOf(&pod.Spec) {
		var drop []corev1.Capability
		if sc := c.SecurityContext; sc != nil && sc.Capabilities != nil {
			drop = sc.Capabilities.Drop
		}
		if !slices.Contains(drop, "ALL") {
			r.forbid(c.securityContext().Child("capabilities", "drop"), "unrestricted capabilities",
				fmt.Sprintf(`container %q must set securityContext.capabilities.drop=["ALL"]`, c.Name))
		}
	}
	forbidAddedCapabilities(pod, r, "unrestricted capabilities", map[corev1.Capability]bool{"NET_BIND_SERVICE": true})
}

// allowPrivilegeEscalation requires every container to set
// allowPrivilegeEscalation=false explicitly: the runtime's default allows
// escalation.
func allowPrivilegeEscalation(pod *corev1.Pod, r *report) {
	for _, c := range containersOf(&pod.Spec) {
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			r.forbid(c.securityContext().Child("allowPrivilegeEscalation"), "allowPrivilegeEscalation != false",
				fmt.Sprintf("container %q must set securityContext.allowPrivilegeEscalation=false", c.Name))
		}
	}
}

// runAsNonRoot requires runAsNonRoot=true, set on the pod or on every
// container. An explicit false is reported where it is set; containers
// that inherit an unset pod value are reported together on the pod's
// field, where one setting fixes them all.
func runAsNonRoot(pod *corev1.Pod, r *report) {
	ps := podScope(pod)
	if ps.runAsNonRoot != nil && !*ps.runAsNonRoot {
		r.forbid(ps.path.Child("runAsNonRoot"), "runAsNonRoot != true",
			"pod must not set securityContext.runAsNonRoot=false")
	}
	var unset []string
	for _, c := range containersOf(&pod.Spec) {
		cs := containerScope(c)
		switch {
		case cs.runAsNonRoot == nil:
			unset = append(unset, c.Name)
		case !*cs.runAsNonRoot:
			r.forbid(cs.path.Child("runAsNonRoot"), "runAsNonRoot != true",
				cs.subject+" must not set securityContext.runAsNonRoot=false")
		}
	}
	if ps.runAsNonRoot == nil && len(unset) > 0 {
		r.forbid(ps.path.Child("runAsNonRoot"), "runAsNonRoot != true",
			fmt.Sprintf("pod or %s %s must set securityContext.runAsNonRoot=true",
				plural(len(unset), "container", "containers"), quoteList(unset)))
	}
}

// runAsUser refuses running as UID 0, whatever runAsNonRoot says.
func runAsUser(pod *corev1.Pod, r *report) {
	for _, s := range scopesOf(pod) {
		if s.runAsUser != nil && *s.runAsUser == 0 {
			r.forbid(s.path.Child("runAsUser"), "runAsUser=0", s.subject+" must not set runAsUser=0")
		}
	}
}

// restrictedSeccomp requires a RuntimeDefault or Localhost seccomp
// profile, set on the pod or on every container (it replaces
// baselineSeccomp). Like runAsNonRoot, containers that inherit an unset
// pod profile are reported together on the pod's field.
func restrictedSeccomp(pod *corev1.Pod, r *report) {
	allowed := func(p *corev1.SeccompProfile) bool {
		return p.Type == corev1.SeccompProfileTypeRuntimeDefault || p.Type == corev1.SeccompProfileTypeLocalhost
	}
	ps := podScope(pod)
	typePath := ps.path.Child("seccompProfile", "type")
	if ps.seccomp != nil && !allowed(ps.seccomp) {
		r.forbid(typePath, "seccompProfile",
			fmt.Sprintf("pod must not set securityContext.seccompProfile.type to %q", ps.seccomp.Type))
	}
	var unset []string
	for _, c := range containersOf(&pod.Spec) {
		cs := containerScope(c)
		switch {
		case cs.seccomp == nil:
			unset = append(unset, c.Name)
		case !allowed(cs.seccomp):
			r.forbid(cs.path.Child("seccompProfile", "type"), "seccompProfile",
				fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %q", cs.subject, cs.seccomp.Type))
		}
	}
	if ps.seccomp == nil && len(unset) > 0 {
		r.forbid(typePath, "seccompProfile",
			fmt.Sprintf(`pod or %s %s must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
				plural(len(unset), "container", "containers"), quoteList(unset)))
	}
}
