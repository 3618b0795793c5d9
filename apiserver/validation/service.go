package validation

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The NodePort range, as kube-apiserver's default --service-node-port-range.
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

// supportedServiceTypes are the service types Skiff's netproxy programs.
var supportedServiceTypes = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort}

var trafficDistributions = map[string]bool{
	corev1.ServiceTrafficDistributionPreferClose: true,
	"PreferSameZone": true,
	"PreferSameNode": true,
}

func validateServiceCreate(s *corev1.Service) field.ErrorList {
	errs := validateMeta(&s.ObjectMeta, true, nameIsDNS1035Label)
	return append(errs, validateServiceSpec(s)...)
}

// validateServiceUpdate keeps the ClusterIP once set; everything else may
// change within the create rules.
func validateServiceUpdate(s, old *corev1.Service) field.ErrorList {
	errs := validateMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	if old.Spec.ClusterIP != "" && s.Spec.ClusterIP != old.Spec.ClusterIP {
		errs = append(errs, field.Invalid(specPath.Child("clusterIP"), s.Spec.ClusterIP, fieldImmutableMsg))
	} else if len(old.Spec.ClusterIPs) > 0 {
		p := specPath.Child("clusterIPs")
		switch {
		case len(s.Spec.ClusterIPs) == 0:
			errs = append(errs, field.Invalid(p.Index(0), s.Spec.ClusterIPs, "primary clusterIP can not be unset"))
		case s.Spec.ClusterIPs[0] != old.Spec.ClusterIPs[0]:
			errs = append(errs, field.Invalid(p.Index(0), s.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return append(errs, validateServiceSpec(s)...)
}

func isHeadless(s *corev1.Service) bool {
	return len(s.Spec.ClusterIPs) == 1 && s.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

func validateServiceSpec(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &s.Spec
	switch spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
	case "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, supportedServiceTypes))
	}
	headless := isHeadless(s)
	if len(spec.Ports) == 0 && !headless {
		errs = append(errs, field.Required(specPath.Child("ports"), ""))
	}
	if headless && spec.Type == corev1.ServiceTypeNodePort {
		errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.ClusterIPs[0], "may not be set to 'None' for NodePort services"))
	}
	errs = append(errs, validateServicePorts(s)...)
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}
	errs = append(errs, validateSessionAffinity(spec)...)
	errs = append(errs, validateClusterIPs(spec)...)
	if len(spec.ExternalIPs) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("externalIPs"), "external IPs are not supported by Skiff"))
	}
	const lbOnly = "may only be used when `type` is 'LoadBalancer'"
	if len(spec.LoadBalancerSourceRanges) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("loadBalancerSourceRanges"), lbOnly))
	}
	if spec.AllocateLoadBalancerNodePorts != nil {
		errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), lbOnly))
	}
	if spec.LoadBalancerClass != nil {
		errs = append(errs, field.Forbidden(specPath.Child("loadBalancerClass"), lbOnly))
	}
	if spec.LoadBalancerIP != "" {
		errs = append(errs, field.Forbidden(specPath.Child("loadBalancerIP"), lbOnly))
	}
	etp := specPath.Child("externalTrafficPolicy")
	switch {
	case !externallyAccessible(s):
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(etp, spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	case spec.ExternalTrafficPolicy == "":
		errs = append(errs, field.Required(etp, ""))
	case spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster && spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal:
		errs = append(errs, field.NotSupported(etp, spec.ExternalTrafficPolicy, []corev1.ServiceExternalTrafficPolicy{
			corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}))
	}
	if spec.HealthCheckNodePort != 0 {
		errs = append(errs, field.Invalid(specPath.Child("healthCheckNodePort"), spec.HealthCheckNodePort,
			"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	}
	itp := specPath.Child("internalTrafficPolicy")
	switch {
	case spec.InternalTrafficPolicy == nil:
		if spec.Type == corev1.ServiceTypeClusterIP || spec.Type == corev1.ServiceTypeNodePort {
			errs = append(errs, field.Required(itp, ""))
		}
	case *spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster && *spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal:
		errs = append(errs, field.NotSupported(itp, *spec.InternalTrafficPolicy, []corev1.ServiceInternalTrafficPolicy{
			corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}))
	}
	if td := spec.TrafficDistribution; td != nil && !trafficDistributions[*td] {
		errs = append(errs, field.NotSupported(specPath.Child("trafficDistribution"), *td, sortedKeys(trafficDistributions)))
	}
	return errs
}

func validateServicePorts(s *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec := &s.Spec
	names := map[string]bool{}
	ports := map[string]bool{}
	nodePorts := map[string]bool{}
	for i := range spec.Ports {
		sp := &spec.Ports[i]
		p := specPath.Child("ports").Index(i)
		if len(spec.Ports) > 1 && sp.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if sp.Name != "" {
			errs = append(errs, validateDNS1123Label(sp.Name, p.Child("name"))...)
			if names[sp.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), sp.Name))
			}
			names[sp.Name] = true
		}
		errs = append(errs, invalidEach(p.Child("port"), sp.Port, validation.IsValidPortNum(int(sp.Port)))...)
		switch {
		case sp.Protocol == "":
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		case !supportedPortProtocols[sp.Protocol]:
			errs = append(errs, field.NotSupported(p.Child("protocol"), sp.Protocol, sortedKeys(supportedPortProtocols)))
		}
		errs = append(errs, validatePortNumOrName(sp.TargetPort, p.Child("targetPort"))...)
		if sp.AppProtocol != nil {
			errs = append(errs, validateQualifiedName(*sp.AppProtocol, p.Child("appProtocol"))...)
		}
		key := fmt.Sprintf("%d/%s", sp.Port, sp.Protocol)
		if ports[key] {
			errs = append(errs, field.Duplicate(p, key))
		}
		ports[key] = true
		if sp.NodePort == 0 {
			continue
		}
		np := p.Child("nodePort")
		if spec.Type == corev1.ServiceTypeClusterIP {
			errs = append(errs, field.Forbidden(np, "may not be used when `type` is 'ClusterIP'"))
			continue
		}
		if sp.NodePort < NodePortMin || sp.NodePort > NodePortMax {
			errs = append(errs, field.Invalid(np, sp.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", NodePortMin, NodePortMax)))
		}
		nkey := fmt.Sprintf("%d/%s", sp.NodePort, sp.Protocol)
		if nodePorts[nkey] {
			errs = append(errs, field.Duplicate(np, sp.NodePort))
		}
		nodePorts[nkey] = true
	}
	return errs
}

func validateSessionAffinity(spec *corev1.ServiceSpec) field.ErrorList {
	p := specPath.Child("sessionAffinity")
	cp := specPath.Child("sessionAffinityConfig")
	switch spec.SessionAffinity {
	case "":
		return field.ErrorList{field.Required(p, "")}
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			return field.ErrorList{field.Forbidden(cp, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone))}
		}
	case corev1.ServiceAffinityClientIP:
		when := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		c := spec.SessionAffinityConfig
		switch {
		case c == nil:
			return field.ErrorList{field.Required(cp, when)}
		case c.ClientIP == nil:
			return field.ErrorList{field.Required(cp.Child("clientIP"), when)}
		case c.ClientIP.TimeoutSeconds == nil:
			return field.ErrorList{field.Required(cp.Child("clientIP", "timeoutSeconds"), when)}
		}
		const maxTimeout = 86400
		if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxTimeout {
			return field.ErrorList{field.Invalid(cp.Child("clientIP", "timeoutSeconds"), t, fmt.Sprintf("must be greater than 0 and less than %d", maxTimeout))}
		}
	default:
		return field.ErrorList{field.NotSupported(p, spec.SessionAffinity, []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone})}
	}
	return nil
}

// validateClusterIPs checks clusterIP, clusterIPs, ipFamilies and
// ipFamilyPolicy. Skiff's service network is single-stack IPv4.
func validateClusterIPs(spec *corev1.ServiceSpec) field.ErrorList {
	var errs field.ErrorList
	ipsPath := specPath.Child("clusterIPs")
	if spec.ClusterIP != "" {
		if len(spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if spec.ClusterIPs[0] != spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(spec.ClusterIPs) > 0 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		if ipErrs := validateIP(ip, ipsPath.Index(i)); len(ipErrs) > 0 {
			errs = append(errs, ipErrs...)
		} else if a, _ := netip.ParseAddr(ip); !a.Is4() {
			errs = append(errs, field.Invalid(ipsPath.Index(i), ip, "expected an IPv4 value as indicated by `ipFamilies[0]`"))
		}
	}
	famPath := specPath.Child("ipFamilies")
	seen := map[corev1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		switch {
		case f != corev1.IPv4Protocol && f != corev1.IPv6Protocol:
			errs = append(errs, field.NotSupported(famPath.Index(i), f, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}))
		case f == corev1.IPv6Protocol:
			errs = append(errs, field.Invalid(famPath.Index(i), f, "not configured on this cluster"))
		case seen[f]:
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
		seen[f] = true
	}
	if p := spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack:
		case corev1.IPFamilyPolicyRequireDualStack:
			errs = append(errs, field.Invalid(specPath.Child("ipFamilyPolicy"), *p, "this cluster is not configured for dual-stack services"))
		default:
			errs = append(errs, field.NotSupported(specPath.Child("ipFamilyPolicy"), *p, []corev1.IPFamilyPolicy{
				corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack}))
		}
	}
	return errs
}

func validateServiceStatusUpdate(s, old *corev1.Service) field.ErrorList {
	errs := validateMetaUpdate(&s.ObjectMeta, &old.ObjectMeta)
	p := field.NewPath("status", "loadBalancer", "ingress")
	if len(s.Status.LoadBalancer.Ingress) > 0 {
		errs = append(errs, field.Forbidden(p, "may only be used when `spec.type` is 'LoadBalancer'"))
	}
	return append(errs, metav1validation.ValidateConditions(s.Status.Conditions, field.NewPath("status", "conditions"))...)
}
