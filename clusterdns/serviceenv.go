package clusterdns

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// ServiceEnv returns the environment variables the kubelet gives a
// container for the Services in its namespace: <SVC>_SERVICE_HOST,
// <SVC>_SERVICE_PORT and <SVC>_SERVICE_PORT_<PORT> for named ports, and
// the Docker-link variables <SVC>_PORT, <SVC>_PORT_<n>_<PROTO>[_PROTO|_PORT|_ADDR].
// Services without a ClusterIP (headless, ExternalName) give none. The
// result is sorted by Service name, then in the kubelet's order per
// Service.
func ServiceEnv(services []*v1.Service) []v1.EnvVar {
	sorted := slices.Clone(services)
	slices.SortFunc(sorted, func(a, b *v1.Service) int { return cmp.Compare(a.Name, b.Name) })
	var env []v1.EnvVar
	add := func(k, v string) { env = append(env, v1.EnvVar{Name: k, Value: v}) }
	for _, svc := range sorted {
		ip := svc.Spec.ClusterIP
		if ip == "" || ip == v1.ClusterIPNone || len(svc.Spec.Ports) == 0 {
			continue
		}
		name := envName(svc.Name)
		first := svc.Spec.Ports[0]
		add(name+"_SERVICE_HOST", ip)
		add(name+"_SERVICE_PORT", strconv.Itoa(int(first.Port)))
		for _, p := range svc.Spec.Ports {
			if p.Name != "" {
				add(name+"_SERVICE_PORT_"+envName(p.Name), strconv.Itoa(int(p.Port)))
			}
		}
		hostPort := ip
		if strings.Contains(ip, ":") {
			hostPort = "[" + ip + "]"
		}
		add(name+"_PORT", fmt.Sprintf("%s://%s:%d", proto(first), hostPort, first.Port))
		for _, p := range svc.Spec.Ports {
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(proto(p)))
			add(prefix, fmt.Sprintf("%s://%s:%d", proto(p), hostPort, p.Port))
			add(prefix+"_PROTO", proto(p))
			add(prefix+"_PORT", strconv.Itoa(int(p.Port)))
			add(prefix+"_ADDR", ip)
		}
	}
	return env
}

func proto(p v1.ServicePort) string {
	if p.Protocol == "" {
		return "tcp"
	}
	return strings.ToLower(string(p.Protocol))
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
