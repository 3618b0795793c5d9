package validation

import (
	"math"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// updatablePodSpecFields is what Kubernetes lets a pod update change.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// validatePodUpdate allows, besides metadata, only the spec changes
// Kubernetes allows, plus setting spec.nodeName once (binding).
func validatePodUpdate(p, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(&p.ObjectMeta, &old.ObjectMeta)
	errs = append(errs, validatePodSpec(&p.Spec, true, specPath)...)
	for _, c := range []struct {
		name     string
		new, old []corev1.Container
	}{
		{"containers", p.Spec.Containers, old.Spec.Containers},
		{"initContainers", p.Spec.InitContainers, old.Spec.InitContainers},
	} {
		if len(c.new) != len(c.old) {
			return append(errs, field.Forbidden(specPath.Child(c.name), "pod updates may not add or remove containers"))
		}
	}
	adsPath := specPath.Child("activeDeadlineSeconds")
	switch nd, od := p.Spec.ActiveDeadlineSeconds, old.Spec.ActiveDeadlineSeconds; {
	case nd != nil && (*nd < 0 || *nd > math.MaxInt32):
		return append(errs, field.Invalid(adsPath, *nd, validation.InclusiveRangeError(0, math.MaxInt32)))
	case nd != nil && od != nil && *od < *nd:
		return append(errs, field.Invalid(adsPath, *nd, "must be less than or equal to previous value"))
	case nd == nil && od != nil:
		errs = append(errs, field.Invalid(adsPath, nd, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(p.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(p.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if old.Spec.NodeName == "" && p.Spec.NodeName != "" && len(p.Spec.SchedulingGates) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	if apiequality.Semantic.DeepEqual(p.Spec, old.Spec) {
		return errs
	}
	munged := p.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.Tolerations = old.Spec.Tolerations
	munged.SchedulingGates = old.Spec.SchedulingGates
	if g, og := munged.TerminationGracePeriodSeconds, old.Spec.TerminationGracePeriodSeconds; og != nil && *og < 0 && g != nil && *g == 1 {
		munged.TerminationGracePeriodSeconds = og
	}
	if old.Spec.NodeName == "" {
		munged.NodeName = "" // binding may set it once
	}
	if !apiequality.Semantic.DeepEqual(*munged, old.Spec) {
		msg := "pod updates may not change fields other than " + strings.Join(updatablePodSpecFields, ",")
		if d := changedFields("spec", old.Spec, *munged); d != "" {
			msg += "\n" + d
		}
		errs = append(errs, field.Forbidden(specPath, msg))
	}
	return errs
}

// validateOnlyAddedTolerations lets an update add tolerations and change
// the tolerationSeconds of existing ones, nothing else.
func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			o.TolerationSeconds = t.TolerationSeconds
			if apiequality.Semantic.DeepEqual(o, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateOnlyDeletedSchedulingGates(gates, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	had := map[string]bool{}
	for _, g := range old {
		had[g.Name] = true
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !had[g.Name] {
			errs = append(errs, field.Forbidden(fldPath.Index(i).Child("name"), "only deletion is allowed, but found new scheduling gate '"+g.Name+"'"))
		}
	}
	return errs
}

var podPhases = map[corev1.PodPhase]bool{
	corev1.PodPending: true, corev1.PodRunning: true, corev1.PodSucceeded: true, corev1.PodFailed: true, corev1.PodUnknown: true,
}

var systemPodConditions = map[corev1.PodConditionType]bool{
	corev1.PodScheduled: true, corev1.PodReady: true, corev1.PodInitialized: true, corev1.ContainersReady: true,
}

// validatePodStatusUpdate checks a status written by a worker (or a
// scheduler's condition): the pod stays on its node, keeps its QoS class,
// terminated containers of a non-restarting pod stay terminated, and the
// addresses are valid.
func validatePodStatusUpdate(p, old *corev1.Pod) field.ErrorList {
	errs := validateMetaUpdate(&p.ObjectMeta, &old.ObjectMeta)
	statusPath := field.NewPath("status")
	if p.Spec.NodeName != old.Spec.NodeName {
		errs = append(errs, field.Forbidden(statusPath.Child("nodeName"), "may not be changed directly"))
	}
	st := &p.Status
	if st.Phase != "" && !podPhases[st.Phase] {
		errs = append(errs, field.NotSupported(statusPath.Child("phase"), st.Phase, sortedKeys(podPhases)))
	}
	if n := st.NominatedNodeName; n != "" && n != old.Status.NominatedNodeName {
		errs = append(errs, validateDNS1123Subdomain(n, statusPath.Child("nominatedNodeName"))...)
	}
	errs = append(errs, validateImmutable(st.QOSClass, old.Status.QOSClass, statusPath.Child("qosClass"))...)
	for i, c := range st.Conditions {
		if !systemPodConditions[c.Type] {
			errs = append(errs, validateQualifiedName(string(c.Type), statusPath.Child("conditions").Index(i).Child("type"))...)
		}
	}
	errs = append(errs, validateStateTransitions(st.ContainerStatuses, old.Status.ContainerStatuses, old.Spec.RestartPolicy, nil, statusPath.Child("containerStatuses"))...)
	errs = append(errs, validateStateTransitions(st.InitContainerStatuses, old.Status.InitContainerStatuses, old.Spec.RestartPolicy, old.Spec.InitContainers, statusPath.Child("initContainerStatuses"))...)
	if st.PodIP != "" {
		errs = append(errs, validateIP(st.PodIP, statusPath.Child("podIP"))...)
	}
	var podIPs []string
	for _, ip := range st.PodIPs {
		podIPs = append(podIPs, ip.IP)
	}
	errs = append(errs, validateIPList(podIPs, statusPath.Child("podIPs"))...)
	if len(st.HostIPs) > 0 {
		if st.HostIP != st.HostIPs[0].IP {
			errs = append(errs, field.Invalid(statusPath.Child("hostIPs").Index(0).Child("ip"), st.HostIPs[0].IP, "must be equal to `hostIP`"))
		}
		var hostIPs []string
		for _, ip := range st.HostIPs {
			hostIPs = append(hostIPs, ip.IP)
		}
		errs = append(errs, validateIPList(hostIPs, statusPath.Child("hostIPs"))...)
	}
	return errs
}

// validateStateTransitions refuses a terminated container coming back to
// life when the pod's restart policy does not restart it. Restartable init
// containers (sidecars) may always restart.
func validateStateTransitions(statuses, old []corev1.ContainerStatus, policy corev1.RestartPolicy, inits []corev1.Container, fldPath *field.Path) field.ErrorList {
	if policy == corev1.RestartPolicyAlways {
		return nil
	}
	sidecar := map[string]bool{}
	for _, c := range inits {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecar[c.Name] = true
		}
	}
	var errs field.ErrorList
	for i, o := range old {
		t := o.State.Terminated
		if t == nil || (t.ExitCode != 0 && policy == corev1.RestartPolicyOnFailure) || sidecar[o.Name] {
			continue
		}
		for _, s := range statuses {
			if s.Name == o.Name && s.State.Terminated == nil {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

// validateIPList checks a list of at most one address per family.
func validateIPList(ips []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	v4, v6 := 0, 0
	for i, ip := range ips {
		if ipErrs := validateIP(ip, fldPath.Index(i)); len(ipErrs) > 0 {
			errs = append(errs, ipErrs...)
			continue
		}
		if seen[ip] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), ip))
		}
		seen[ip] = true
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
			v4++
		} else {
			v6++
		}
	}
	if len(errs) == 0 && (v4 > 1 || v6 > 1) {
		errs = append(errs, field.Invalid(fldPath, ips, "may specify no more than one IP for each IP family"))
	}
	return errs
}
