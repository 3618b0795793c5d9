package validation

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// specContext carries what container checks need to know about the pod
// spec around them.
type specContext struct {
	// isPod is set for a Pod, unset for a pod template, whose checks are
	// looser where the pod's defaulting will fill things in.
	isPod         bool
	volumes       map[string]bool
	gracePeriod   *int64
	hostNetwork   bool
	restartPolicy corev1.RestartPolicy
}

var supportedPortProtocols = map[corev1.Protocol]bool{
	corev1.ProtocolTCP:  true,
	corev1.ProtocolUDP:  true,
	corev1.ProtocolSCTP: true,
}

// supportedContainerResources are the resources Skiff's worker enforces.
var supportedContainerResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU:              true,
	corev1.ResourceMemory:           true,
	corev1.ResourceEphemeralStorage: true,
}

var supportedPullPolicies = map[corev1.PullPolicy]bool{
	corev1.PullAlways:       true,
	corev1.PullIfNotPresent: true,
	corev1.PullNever:        true,
}

// Field paths an environment variable may reference, besides the
// subscripted labels and annotations.
var envFieldPaths = map[string]bool{
	"metadata.name":           true,
	"metadata.namespace":      true,
	"metadata.uid":            true,
	"spec.nodeName":           true,
	"spec.serviceAccountName": true,
	"status.hostIP":           true,
	"status.hostIPs":          true,
	"status.podIP":            true,
	"status.podIPs":           true,
}

var resourceFieldPaths = map[string]bool{
	"limits.cpu":                 true,
	"limits.memory":              true,
	"limits.ephemeral-storage":   true,
	"requests.cpu":               true,
	"requests.memory":            true,
	"requests.ephemeral-storage": true,
}

// validateContainers checks the regular containers: at least one, names
// unique, probes and lifecycle hooks valid, host ports not clashing.
func validateContainers(cs []corev1.Container, sc *specContext, fldPath *field.Path) field.ErrorList {
	if len(cs) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i := range cs {
		c := &cs[i]
		p := fldPath.Index(i)
		errs = append(errs, validateContainerCommon(c, sc, p)...)
		if names[c.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		}
		names[c.Name] = true
		errs = append(errs, validateContainerHooks(c, sc, p)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "may not be set for non-init containers"))
		}
	}
	return append(errs, validateHostPortConflicts(cs, fldPath)...)
}

// validateInitContainers checks init containers; their names must differ
// from the regular containers' too.
func validateInitContainers(inits, regular []corev1.Container, sc *specContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range regular {
		names[c.Name] = true
	}
	for i := range inits {
		c := &inits[i]
		p := fldPath.Index(i)
		errs = append(errs, validateContainerCommon(c, sc, p)...)
		if names[c.Name] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		} else if c.Name != "" {
			names[c.Name] = true
		}
		restartable := false
		if c.RestartPolicy != nil {
			if *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				restartable = true
			} else {
				errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy,
					[]corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}))
			}
		}
		if restartable {
			errs = append(errs, validateContainerHooks(c, sc, p)...)
		} else {
			const msg = "may not be set for init containers without restartPolicy=Always"
			for _, f := range []struct {
				name string
				set  bool
			}{
				{"lifecycle", c.Lifecycle != nil}, {"livenessProbe", c.LivenessProbe != nil},
				{"readinessProbe", c.ReadinessProbe != nil}, {"startupProbe", c.StartupProbe != nil},
			} {
				if f.set {
					errs = append(errs, field.Forbidden(p.Child(f.name), msg))
				}
			}
		}
		// Init containers run one at a time, so only clashes within one count.
		errs = append(errs, validateHostPortConflicts(inits[i:i+1], fldPath)...)
	}
	return errs
}

// validateContainerCommon applies the checks every kind of container
// shares.
func validateContainerCommon(c *corev1.Container, sc *specContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		errs = append(errs, validateDNS1123Label(c.Name, fldPath.Child("name"))...)
	}
	if c.Image == "" {
		errs = append(errs, field.Required(fldPath.Child("image"), ""))
	} else if sc.isPod && strings.TrimSpace(c.Image) != c.Image {
		errs = append(errs, field.Invalid(fldPath.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(fldPath.Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("terminationMessagePolicy"), c.TerminationMessagePolicy,
			[]corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}))
	}
	switch {
	case c.ImagePullPolicy == "":
		errs = append(errs, field.Required(fldPath.Child("imagePullPolicy"), ""))
	case !supportedPullPolicies[c.ImagePullPolicy]:
		errs = append(errs, field.NotSupported(fldPath.Child("imagePullPolicy"), c.ImagePullPolicy, sortedKeys(supportedPullPolicies)))
	}
	errs = append(errs, validateContainerPorts(c.Ports, sc, fldPath.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, fldPath.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, fldPath.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c, sc, fldPath.Child("volumeMounts"))...)
	if len(c.VolumeDevices) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("volumeDevices"), "block volumes are not supported by Skiff"))
	}
	errs = append(errs, validateResources(&c.Resources, fldPath.Child("resources"))...)
	errs = append(errs, validateResizePolicy(c.ResizePolicy, sc.restartPolicy, fldPath.Child("resizePolicy"))...)
	errs = append(errs, validateSecurityContext(c.SecurityContext, fldPath.Child("securityContext"))...)
	if len(c.RestartPolicyRules) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("restartPolicyRules"), notSupportedBySkiff))
	}
	return errs
}

func validateContainerPorts(ports []corev1.ContainerPort, sc *specContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		p := fldPath.Index(i)
		if port.Name != "" {
			if msgs := validation.IsValidPortName(port.Name); len(msgs) > 0 {
				errs = append(errs, invalidEach(p.Child("name"), port.Name, msgs)...)
			} else if names[port.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			} else {
				names[port.Name] = true
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalidEach(p.Child("containerPort"), port.ContainerPort, validation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, invalidEach(p.Child("hostPort"), port.HostPort, validation.IsValidPortNum(int(port.HostPort)))...)
		}
		if sc.hostNetwork && (sc.isPod || port.HostPort != 0) && port.HostPort != port.ContainerPort {
			errs = append(errs, field.Invalid(p.Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
		}
		if port.HostIP != "" {
			errs = append(errs, validateIP(port.HostIP, p.Child("hostIP"))...)
		}
		switch {
		case port.Protocol == "":
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		case !supportedPortProtocols[port.Protocol]:
			errs = append(errs, field.NotSupported(p.Child("protocol"), port.Protocol, sortedKeys(supportedPortProtocols)))
		}
	}
	return errs
}

// validateHostPortConflicts refuses two ports claiming the same host port,
// protocol and host IP.
func validateHostPortConflicts(cs []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci, c := range cs {
		for pi, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
			if seen[key] {
				errs = append(errs, field.Duplicate(fldPath.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			}
			seen[key] = true
		}
	}
	return errs
}

func validateVolumeMounts(c *corev1.Container, sc *specContext, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := map[string]bool{}
	for i, m := range c.VolumeMounts {
		p := fldPath.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if !sc.volumes[m.Name] {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		switch {
		case m.MountPath == "":
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		case !path.IsAbs(m.MountPath):
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be an absolute path"))
		case paths[m.MountPath]:
			errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
		}
		paths[m.MountPath] = true
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, p.Child("subPath"))...)
		}
		if m.SubPathExpr != "" {
			if m.SubPath != "" {
				errs = append(errs, field.Invalid(p.Child("subPathExpr"), m.SubPathExpr, "subPathExpr and subPath are mutually exclusive"))
			}
			errs = append(errs, validateLocalDescendingPath(m.SubPathExpr, p.Child("subPathExpr"))...)
		}
		errs = append(errs, validateMountPropagation(m, c, p.Child("mountPropagation"))...)
		errs = append(errs, validateRecursiveReadOnly(m, p.Child("recursiveReadOnly"))...)
		if len(m.BindMountOptions) > 0 {
			errs = append(errs, field.Forbidden(p.Child("bindMountOptions"), notSupportedBySkiff))
		}
	}
	return errs
}

func validateMountPropagation(m corev1.VolumeMount, c *corev1.Container, fldPath *field.Path) field.ErrorList {
	if m.MountPropagation == nil {
		return nil
	}
	switch *m.MountPropagation {
	case corev1.MountPropagationNone, corev1.MountPropagationHostToContainer:
		return nil
	case corev1.MountPropagationBidirectional:
		if sc := c.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged {
			return field.ErrorList{field.Forbidden(fldPath, "Bidirectional mount propagation is available only to privileged containers")}
		}
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, *m.MountPropagation, []corev1.MountPropagationMode{
		corev1.MountPropagationBidirectional, corev1.MountPropagationHostToContainer, corev1.MountPropagationNone})}
}

func validateRecursiveReadOnly(m corev1.VolumeMount, fldPath *field.Path) field.ErrorList {
	if m.RecursiveReadOnly == nil {
		return nil
	}
	var errs field.ErrorList
	switch *m.RecursiveReadOnly {
	case corev1.RecursiveReadOnlyDisabled:
	case corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible:
		if !m.ReadOnly {
			errs = append(errs, field.Forbidden(fldPath, "may only be specified when readOnly is true"))
		}
		if m.MountPropagation != nil && *m.MountPropagation != corev1.MountPropagationNone {
			errs = append(errs, field.Forbidden(fldPath, "may only be specified when mountPropagation is None or not specified"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath, *m.RecursiveReadOnly, []corev1.RecursiveReadOnlyMode{
			corev1.RecursiveReadOnlyDisabled, corev1.RecursiveReadOnlyEnabled, corev1.RecursiveReadOnlyIfPossible}))
	}
	return errs
}

// validateResources allows only the resources Skiff enforces, requires
// non-negative quantities and requests no larger than limits.
func validateResources(r *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	for _, name := range slices.Sorted(maps.Keys(r.Limits)) {
		errs = append(errs, validateResourceQuantity(name, r.Limits[name], limPath.Key(string(name)))...)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Requests)) {
		q := r.Requests[name]
		errs = append(errs, validateResourceQuantity(name, q, reqPath.Key(string(name)))...)
		if lim, ok := r.Limits[name]; ok && q.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		}
	}
	if len(r.Claims) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("claims"), "dynamic resource allocation is not supported by Skiff"))
	}
	return errs
}

func validateResourceQuantity(name corev1.ResourceName, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if !supportedContainerResources[name] {
		return field.ErrorList{field.NotSupported(fldPath, name, sortedKeys(supportedContainerResources))}
	}
	return validateNonnegativeQuantity(q, fldPath)
}

func validateResizePolicy(policies []corev1.ContainerResizePolicy, podRestart corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.ResourceName]bool{}
	for i, p := range policies {
		if seen[p.ResourceName] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), p.ResourceName))
		}
		seen[p.ResourceName] = true
		switch p.ResourceName {
		case corev1.ResourceCPU, corev1.ResourceMemory:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.ResourceName, []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}))
		}
		switch p.RestartPolicy {
		case corev1.NotRequired, corev1.RestartContainer:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.RestartPolicy, []corev1.ResourceResizeRestartPolicy{corev1.NotRequired, corev1.RestartContainer}))
		}
		if podRestart == corev1.RestartPolicyNever && p.RestartPolicy != corev1.NotRequired {
			errs = append(errs, field.Invalid(fldPath, p.RestartPolicy, "must be 'NotRequired' when `restartPolicy` is 'Never'"))
		}
	}
	return errs
}
