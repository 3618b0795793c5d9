package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

type podCase = tcase[*corev1.Pod]

func container(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[0] }

func TestValidatePodMetadata(t *testing.T) {
	runCases(t, testPod, []podCase{
		{name: "valid"},
		{name: "name required", mutate: func(p *corev1.Pod) { p.Name = "" }, path: "metadata.name", typ: field.ErrorTypeRequired},
		{name: "name not a subdomain", mutate: func(p *corev1.Pod) { p.Name = "Web_1" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "generateName bad prefix", mutate: func(p *corev1.Pod) { p.GenerateName = "Web_" }, path: "metadata.generateName", typ: field.ErrorTypeInvalid},
		{name: "namespace required", mutate: func(p *corev1.Pod) { p.Namespace = "" }, path: "metadata.namespace", typ: field.ErrorTypeRequired},
		{name: "namespace not a label", mutate: func(p *corev1.Pod) { p.Namespace = "a.b" }, path: "metadata.namespace", typ: field.ErrorTypeInvalid},
		{name: "label key invalid", mutate: func(p *corev1.Pod) { p.Labels["-bad"] = "x" }, path: "metadata.labels", typ: field.ErrorTypeInvalid},
		{name: "label value invalid", mutate: func(p *corev1.Pod) { p.Labels["app"] = "has space" }, path: "metadata.labels", typ: field.ErrorTypeInvalid},
		{name: "annotation key invalid", mutate: func(p *corev1.Pod) { p.Annotations = map[string]string{"a/b/c": "x"} }, path: "metadata.annotations", typ: field.ErrorTypeInvalid},
		{name: "annotations too large", mutate: func(p *corev1.Pod) { p.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024)} }, path: "metadata.annotations", typ: field.ErrorTypeTooLong},
		{name: "finalizer neither standard nor qualified", mutate: func(p *corev1.Pod) { p.Finalizers = []string{"cleanup"} }, path: "metadata.finalizers[0]", typ: field.ErrorTypeInvalid},
		{name: "finalizer not a qualified name", mutate: func(p *corev1.Pod) { p.Finalizers = []string{"example.com/a b"} }, path: "metadata.finalizers", typ: field.ErrorTypeInvalid},
		{name: "qualified and standard finalizers", mutate: func(p *corev1.Pod) { p.Finalizers = []string{"example.com/cleanup", "foregroundDeletion"} }},
	})
}

func TestValidatePodContainers(t *testing.T) {
	runCases(t, testPod, []podCase{
		{name: "containers required", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil }, path: "spec.containers", typ: field.ErrorTypeRequired},
		{name: "container name required", mutate: func(p *corev1.Pod) { container(p).Name = "" }, path: "spec.containers[0].name", typ: field.ErrorTypeRequired},
		{name: "container name not a label", mutate: func(p *corev1.Pod) { container(p).Name = "App" }, path: "spec.containers[0].name", typ: field.ErrorTypeInvalid},
		{name: "container names unique", mutate: func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, *container(p)) }, path: "spec.containers[1].name", typ: field.ErrorTypeDuplicate},
		{name: "init container name clashes with container", mutate: func(p *corev1.Pod) {
			c := *container(p)
			c.Ports = nil
			p.Spec.InitContainers = []corev1.Container{c}
		}, path: "spec.initContainers[0].name", typ: field.ErrorTypeDuplicate},
		{name: "image required", mutate: func(p *corev1.Pod) { container(p).Image = "" }, path: "spec.containers[0].image", typ: field.ErrorTypeRequired},
		{name: "image whitespace", mutate: func(p *corev1.Pod) { container(p).Image = " nginx" }, path: "spec.containers[0].image", typ: field.ErrorTypeInvalid},
		{name: "pull policy unsupported", mutate: func(p *corev1.Pod) { container(p).ImagePullPolicy = "Sometimes" }, path: "spec.containers[0].imagePullPolicy", typ: field.ErrorTypeNotSupported},
		{name: "termination message policy unsupported", mutate: func(p *corev1.Pod) { container(p).TerminationMessagePolicy = "Stdout" }, path: "spec.containers[0].terminationMessagePolicy", typ: field.ErrorTypeNotSupported},
		{name: "containerPort required", mutate: func(p *corev1.Pod) { container(p).Ports[0].ContainerPort = 0 }, path: "spec.containers[0].ports[0].containerPort", typ: field.ErrorTypeRequired},
		{name: "containerPort out of range", mutate: func(p *corev1.Pod) { container(p).Ports[0].ContainerPort = 70000 }, path: "spec.containers[0].ports[0].containerPort", typ: field.ErrorTypeInvalid},
		{name: "hostPort out of range", mutate: func(p *corev1.Pod) { container(p).Ports[0].HostPort = -1 }, path: "spec.containers[0].ports[0].hostPort", typ: field.ErrorTypeInvalid},
		{name: "protocol unsupported", mutate: func(p *corev1.Pod) { container(p).Ports[0].Protocol = "HTTP" }, path: "spec.containers[0].ports[0].protocol", typ: field.ErrorTypeNotSupported},
		{name: "port name not IANA", mutate: func(p *corev1.Pod) { container(p).Ports[0].Name = "http-endpoint-main" }, path: "spec.containers[0].ports[0].name", typ: field.ErrorTypeInvalid},
		{name: "port names unique", mutate: func(p *corev1.Pod) {
			container(p).Ports = append(container(p).Ports, corev1.ContainerPort{Name: "http", ContainerPort: 9090, Protocol: corev1.ProtocolTCP})
		}, path: "spec.containers[0].ports[1].name", typ: field.ErrorTypeDuplicate},
		{name: "host ports clash across containers", mutate: func(p *corev1.Pod) {
			container(p).Ports[0].HostPort = 80
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "side:1", ImagePullPolicy: corev1.PullIfNotPresent,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
				Ports:                    []corev1.ContainerPort{{ContainerPort: 81, HostPort: 80, Protocol: corev1.ProtocolTCP}}})
		}, path: "spec.containers[1].ports[0].hostPort", typ: field.ErrorTypeDuplicate},
		{name: "hostNetwork hostPort must match", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			container(p).Ports[0].HostPort = 9999
		}, path: "spec.containers[0].ports[0].hostPort", typ: field.ErrorTypeInvalid},
		{name: "env name invalid", mutate: func(p *corev1.Pod) { container(p).Env = []corev1.EnvVar{{Name: "1ST", Value: "x"}} }, path: "spec.containers[0].env[0].name", typ: field.ErrorTypeInvalid},
		{name: "env name required", mutate: func(p *corev1.Pod) { container(p).Env = []corev1.EnvVar{{Value: "x"}} }, path: "spec.containers[0].env[0].name", typ: field.ErrorTypeRequired},
		{name: "valueFrom without source", mutate: func(p *corev1.Pod) {
			container(p).Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{}}}
		}, path: "spec.containers[0].env[0].valueFrom", typ: field.ErrorTypeInvalid},
		{name: "valueFrom with two sources", mutate: func(p *corev1.Pod) {
			container(p).Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FieldRef:        &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"},
			}}}
		}, path: "spec.containers[0].env[0].valueFrom", typ: field.ErrorTypeInvalid},
		{name: "value and valueFrom", mutate: func(p *corev1.Pod) {
			container(p).Env = []corev1.EnvVar{{Name: "X", Value: "v", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}
		}, path: "spec.containers[0].env[0].valueFrom", typ: field.ErrorTypeInvalid},
		{name: "fieldRef unsupported path", mutate: func(p *corev1.Pod) {
			container(p).Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.hostname"}}}}
		}, path: "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", typ: field.ErrorTypeNotSupported},
		{name: "fieldRef label subscript", mutate: func(p *corev1.Pod) {
			container(p).Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['app']"}}}}
		}},
		{name: "secretKeyRef key invalid", mutate: func(p *corev1.Pod) {
			container(p).Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "a/b"}}}}
		}, path: "spec.containers[0].env[0].valueFrom.secretKeyRef.key", typ: field.ErrorTypeInvalid},
		{name: "envFrom without source", mutate: func(p *corev1.Pod) { container(p).EnvFrom = []corev1.EnvFromSource{{Prefix: "P_"}} }, path: "spec.containers[0].envFrom", typ: field.ErrorTypeInvalid},
		{name: "negative quantity", mutate: func(p *corev1.Pod) {
			container(p).Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: mustQuantity("-1")}
		}, path: "spec.containers[0].resources.limits[cpu]", typ: field.ErrorTypeInvalid},
		{name: "request above limit", mutate: func(p *corev1.Pod) {
			container(p).Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceMemory: mustQuantity("128Mi")},
				Requests: corev1.ResourceList{corev1.ResourceMemory: mustQuantity("256Mi")},
			}
		}, path: "spec.containers[0].resources.requests", typ: field.ErrorTypeInvalid},
		{name: "unsupported resource", mutate: func(p *corev1.Pod) {
			container(p).Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": mustQuantity("1")}
		}, path: "spec.containers[0].resources.limits[nvidia.com/gpu]", typ: field.ErrorTypeNotSupported},
		{name: "hugepages unsupported", mutate: func(p *corev1.Pod) {
			container(p).Resources.Requests = corev1.ResourceList{"hugepages-2Mi": mustQuantity("2Mi")}
		}, path: "spec.containers[0].resources.requests[hugepages-2Mi]", typ: field.ErrorTypeNotSupported},
		{name: "resource claims refused", mutate: func(p *corev1.Pod) { container(p).Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}} }, path: "spec.containers[0].resources.claims", typ: field.ErrorTypeForbidden},
		{name: "volumeDevices refused", mutate: func(p *corev1.Pod) {
			container(p).VolumeDevices = []corev1.VolumeDevice{{Name: "v", DevicePath: "/dev/xvda"}}
		}, path: "spec.containers[0].volumeDevices", typ: field.ErrorTypeForbidden},
		{name: "restartPolicy on regular container", mutate: func(p *corev1.Pod) {
			container(p).RestartPolicy = ptrTo(corev1.ContainerRestartPolicyAlways)
		}, path: "spec.containers[0].restartPolicy", typ: field.ErrorTypeForbidden},
		{name: "init container probe without restartPolicy Always", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:1", ImagePullPolicy: corev1.PullIfNotPresent,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile, ReadinessProbe: tcpProbe()}}
		}, path: "spec.initContainers[0].readinessProbe", typ: field.ErrorTypeForbidden},
		{name: "sidecar init container with probe", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "proxy:1", ImagePullPolicy: corev1.PullIfNotPresent,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile, RestartPolicy: ptrTo(corev1.ContainerRestartPolicyAlways), ReadinessProbe: tcpProbe()}}
		}},
		{name: "security context uid out of range", mutate: func(p *corev1.Pod) {
			container(p).SecurityContext = &corev1.SecurityContext{RunAsUser: ptrTo(int64(-1))}
		}, path: "spec.containers[0].securityContext.runAsUser", typ: field.ErrorTypeInvalid},
	})
}

func tcpProbe() *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}},
		TimeoutSeconds:   1,
		PeriodSeconds:    10,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
}

func TestValidatePodProbes(t *testing.T) {
	withProbe := func(f func(*corev1.Probe)) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			pr := tcpProbe()
			f(pr)
			container(p).LivenessProbe = pr
		}
	}
	runCases(t, testPod, []podCase{
		{name: "valid probe", mutate: withProbe(func(*corev1.Probe) {})},
		{name: "no handler", mutate: withProbe(func(pr *corev1.Probe) { pr.TCPSocket = nil }), path: "spec.containers[0].livenessProbe", typ: field.ErrorTypeRequired},
		{name: "two handlers", mutate: withProbe(func(pr *corev1.Probe) { pr.Exec = &corev1.ExecAction{Command: []string{"true"}} }), path: "spec.containers[0].livenessProbe.tcpSocket", typ: field.ErrorTypeForbidden},
		{name: "exec command required", mutate: withProbe(func(pr *corev1.Probe) {
			pr.TCPSocket, pr.Exec = nil, &corev1.ExecAction{}
		}), path: "spec.containers[0].livenessProbe.exec.command", typ: field.ErrorTypeRequired},
		{name: "httpGet bad scheme", mutate: withProbe(func(pr *corev1.Probe) {
			pr.TCPSocket, pr.HTTPGet = nil, &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080), Scheme: "FTP"}
		}), path: "spec.containers[0].livenessProbe.httpGet.scheme", typ: field.ErrorTypeNotSupported},
		{name: "tcp port out of range", mutate: withProbe(func(pr *corev1.Probe) { pr.TCPSocket.Port = intstr.FromInt32(0) }), path: "spec.containers[0].livenessProbe.tcpSocket.port", typ: field.ErrorTypeInvalid},
		{name: "grpc handler", mutate: withProbe(func(pr *corev1.Probe) { pr.TCPSocket, pr.GRPC = nil, &corev1.GRPCAction{Port: 9090} })},
		{name: "period not positive", mutate: withProbe(func(pr *corev1.Probe) { pr.PeriodSeconds = -1 }), path: "spec.containers[0].livenessProbe.periodSeconds", typ: field.ErrorTypeInvalid},
		{name: "initial delay negative", mutate: withProbe(func(pr *corev1.Probe) { pr.InitialDelaySeconds = -5 }), path: "spec.containers[0].livenessProbe.initialDelaySeconds", typ: field.ErrorTypeInvalid},
		{name: "liveness success threshold must be 1", mutate: withProbe(func(pr *corev1.Probe) { pr.SuccessThreshold = 2 }), path: "spec.containers[0].livenessProbe.successThreshold", typ: field.ErrorTypeInvalid},
		{name: "startup success threshold must be 1", mutate: func(p *corev1.Pod) {
			pr := tcpProbe()
			pr.SuccessThreshold = 3
			container(p).StartupProbe = pr
		}, path: "spec.containers[0].startupProbe.successThreshold", typ: field.ErrorTypeInvalid},
		{name: "readiness success threshold may exceed 1", mutate: func(p *corev1.Pod) {
			pr := tcpProbe()
			pr.SuccessThreshold = 3
			container(p).ReadinessProbe = pr
		}},
		{name: "lifecycle handler required", mutate: func(p *corev1.Pod) {
			container(p).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{}}
		}, path: "spec.containers[0].lifecycle.preStop", typ: field.ErrorTypeRequired},
		{name: "sleep longer than grace period", mutate: func(p *corev1.Pod) {
			container(p).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 60}}}
		}, path: "spec.containers[0].lifecycle.preStop.sleep", typ: field.ErrorTypeInvalid},
	})
}

func TestValidatePodSpec(t *testing.T) {
	runCases(t, testPod, []podCase{
		{name: "restartPolicy unsupported", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, path: "spec.restartPolicy", typ: field.ErrorTypeNotSupported},
		{name: "restartPolicy required", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "" }, path: "spec.restartPolicy", typ: field.ErrorTypeRequired},
		{name: "dnsPolicy unsupported", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = "Cluster" }, path: "spec.dnsPolicy", typ: field.ErrorTypeNotSupported},
		{name: "dnsPolicy None needs config", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, path: "spec.dnsConfig", typ: field.ErrorTypeRequired},
		{name: "grace period required", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil }, path: "spec.terminationGracePeriodSeconds", typ: field.ErrorTypeRequired},
		{name: "activeDeadlineSeconds zero", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(0)) }, path: "spec.activeDeadlineSeconds", typ: field.ErrorTypeInvalid},
		{name: "nodeName not a subdomain", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "Worker_1" }, path: "spec.nodeName", typ: field.ErrorTypeInvalid},
		{name: "nodeSelector invalid", mutate: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "fast ssd"} }, path: "spec.nodeSelector", typ: field.ErrorTypeInvalid},
		{name: "hostname not a label", mutate: func(p *corev1.Pod) { p.Spec.Hostname = "a.b" }, path: "spec.hostname", typ: field.ErrorTypeInvalid},
		{name: "toleration operator unsupported", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Matches", Value: "v"}}
		}, path: "spec.tolerations[0].operator", typ: field.ErrorTypeNotSupported},
		{name: "toleration effect unsupported", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: "Evict"}}
		}, path: "spec.tolerations[0].effect", typ: field.ErrorTypeNotSupported},
		{name: "node affinity needs terms", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, path: "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", typ: field.ErrorTypeRequired},
		{name: "pod anti-affinity topologyKey required", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{}}}}
		}, path: "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey", typ: field.ErrorTypeRequired},
		{name: "ephemeral containers refused", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
		}, path: "spec.ephemeralContainers", typ: field.ErrorTypeForbidden},
		{name: "resource claims refused", mutate: func(p *corev1.Pod) {
			p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu", ResourceClaimName: ptrTo("gpu")}}
		}, path: "spec.resourceClaims", typ: field.ErrorTypeForbidden},
		{name: "pod-level resources refused", mutate: func(p *corev1.Pod) { p.Spec.Resources = &corev1.ResourceRequirements{} }, path: "spec.resources", typ: field.ErrorTypeForbidden},
		{name: "windows refused", mutate: func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} }, path: "spec.os.name", typ: field.ErrorTypeForbidden},
		{name: "unknown os", mutate: func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: "plan9"} }, path: "spec.os.name", typ: field.ErrorTypeNotSupported},
		{name: "linux allowed", mutate: func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Linux} }},
		{name: "nodeName with scheduling gates", mutate: func(p *corev1.Pod) {
			p.Spec.NodeName = "worker-1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
		}, path: "spec.nodeName", typ: field.ErrorTypeForbidden},
	})
}

func volumePod(v corev1.Volume) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{v}
		Default(p)
	}
}

func TestValidatePodVolumes(t *testing.T) {
	emptyDir := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	runCases(t, testPod, []podCase{
		{name: "every supported type", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{
				{Name: "scratch", VolumeSource: emptyDir},
				{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", Items: []corev1.KeyToPath{{Key: "k", Path: "k.txt"}}}}},
				{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
				{Name: "all", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
						{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}}}}},
				}}}},
			}
			container(p).VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/tmp"}, {Name: "all", MountPath: "/var/run/all", ReadOnly: true}}
			Default(p)
		}},
		{name: "no source defaults to emptyDir", mutate: volumePod(corev1.Volume{Name: "scratch"})},
		{name: "volume name required", mutate: volumePod(corev1.Volume{VolumeSource: emptyDir}), path: "spec.volumes[0].name", typ: field.ErrorTypeRequired},
		{name: "volume name not a label", mutate: volumePod(corev1.Volume{Name: "Scratch", VolumeSource: emptyDir}), path: "spec.volumes[0].name", typ: field.ErrorTypeInvalid},
		{name: "volume names unique", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: emptyDir}, {Name: "v", VolumeSource: emptyDir}}
		}, path: "spec.volumes[1].name", typ: field.ErrorTypeDuplicate},
		{name: "persistentVolumeClaim refused", mutate: volumePod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}), path: "spec.volumes[0].persistentVolumeClaim", typ: field.ErrorTypeForbidden},
		{name: "nfs refused", mutate: volumePod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/x"}}}), path: "spec.volumes[0].nfs", typ: field.ErrorTypeForbidden},
		{name: "iscsi refused", mutate: volumePod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t", IQN: "iqn.2001-04.com.example:storage"}}}), path: "spec.volumes[0].iscsi", typ: field.ErrorTypeForbidden},
		{name: "csi refused", mutate: volumePod(corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{
			CSI: &corev1.CSIVolumeSource{Driver: "x"}}}), path: "spec.volumes[0].csi", typ: field.ErrorTypeForbidden},
		{name: "two sources", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{}, Secret: &corev1.SecretVolumeSource{SecretName: "s"}}}), path: "spec.volumes[0].secret", typ: field.ErrorTypeForbidden},
		{name: "hostPath path required", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{}}}), path: "spec.volumes[0].hostPath.path", typ: field.ErrorTypeRequired},
		{name: "hostPath backsteps", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: "/var/../etc"}}}), path: "spec.volumes[0].hostPath.path", typ: field.ErrorTypeInvalid},
		{name: "configMap name required", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{}}}), path: "spec.volumes[0].configMap.name", typ: field.ErrorTypeRequired},
		{name: "secret mode out of range", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptrTo(int32(01000))}}}), path: "spec.volumes[0].secret.defaultMode", typ: field.ErrorTypeInvalid},
		{name: "item path absolute", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "s", Items: []corev1.KeyToPath{{Key: "k", Path: "/etc/k"}}}}}), path: "spec.volumes[0].secret.items[0].path", typ: field.ErrorTypeInvalid},
		{name: "emptyDir hugepages medium", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumHugePages}}}), path: "spec.volumes[0].emptyDir.medium", typ: field.ErrorTypeNotSupported},
		{name: "projected clusterTrustBundle refused", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "ca"}}}}}}),
			path: "spec.volumes[0].projected.sources[0].clusterTrustBundle", typ: field.ErrorTypeForbidden},
		{name: "projected token too short", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t", ExpirationSeconds: ptrTo(int64(60))}}}}}}),
			path: "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds", typ: field.ErrorTypeInvalid},
		{name: "projected duplicate paths", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Items: []corev1.KeyToPath{{Key: "k", Path: "t"}}}},
			}}}}), path: "spec.volumes[0].projected.sources[1].secret.items[0].path", typ: field.ErrorTypeInvalid},
		{name: "downwardAPI unsupported field", mutate: volumePod(corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{
			DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "ip", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}}}),
			path: "spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath", typ: field.ErrorTypeNotSupported},
		{name: "mount of unknown volume", mutate: func(p *corev1.Pod) {
			container(p).VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/data"}}
		}, path: "spec.containers[0].volumeMounts[0].name", typ: field.ErrorTypeNotFound},
		{name: "mountPath relative", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: emptyDir}}
			container(p).VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "data"}}
		}, path: "spec.containers[0].volumeMounts[0].mountPath", typ: field.ErrorTypeInvalid},
		{name: "mountPath required", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: emptyDir}}
			container(p).VolumeMounts = []corev1.VolumeMount{{Name: "v"}}
		}, path: "spec.containers[0].volumeMounts[0].mountPath", typ: field.ErrorTypeRequired},
		{name: "mountPath unique", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: emptyDir}, {Name: "w", VolumeSource: emptyDir}}
			container(p).VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/data"}, {Name: "w", MountPath: "/data"}}
		}, path: "spec.containers[0].volumeMounts[1].mountPath", typ: field.ErrorTypeInvalid},
		{name: "subPath escapes", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: emptyDir}}
			container(p).VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/data", SubPath: "../x"}}
		}, path: "spec.containers[0].volumeMounts[0].subPath", typ: field.ErrorTypeInvalid},
		{name: "bidirectional propagation needs privilege", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: emptyDir}}
			container(p).VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/data", MountPropagation: ptrTo(corev1.MountPropagationBidirectional)}}
		}, path: "spec.containers[0].volumeMounts[0].mountPropagation", typ: field.ErrorTypeForbidden},
	})
}

func TestValidatePodUpdate(t *testing.T) {
	bound := func(p *corev1.Pod) { p.Spec.NodeName = "worker-1" }
	runCases(t, testPod, []podCase{
		{name: "no change", update: true},
		{name: "labels may change", update: true, mutate: func(p *corev1.Pod) { p.Labels["tier"] = "front" }},
		{name: "image may change", update: true, mutate: func(p *corev1.Pod) { container(p).Image = "registry.example/web:1.3" }},
		{name: "nodeName may be set once", update: true, mutate: bound},
		{name: "tolerations may be added", update: true, mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}},
		{name: "activeDeadlineSeconds may be set", update: true, mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(60)) }},
		{name: "nodeName may not change", old: bound, mutate: func(p *corev1.Pod) { p.Spec.NodeName = "worker-2" }, path: "spec", typ: field.ErrorTypeForbidden},
		{name: "restartPolicy may not change", update: true, mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever }, path: "spec", typ: field.ErrorTypeForbidden},
		{name: "ports may not change", update: true, mutate: func(p *corev1.Pod) { container(p).Ports[0].ContainerPort = 9090 }, path: "spec", typ: field.ErrorTypeForbidden},
		{name: "containers may not be added", update: true, mutate: func(p *corev1.Pod) {
			c := *container(p)
			c.Name, c.Ports = "side", nil
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, path: "spec.containers", typ: field.ErrorTypeForbidden},
		{name: "tolerations may not be removed", old: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
		}, mutate: func(p *corev1.Pod) { p.Spec.Tolerations = nil }, path: "spec.tolerations", typ: field.ErrorTypeForbidden},
		{name: "activeDeadlineSeconds may not grow", old: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(60)) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(120)) }, path: "spec.activeDeadlineSeconds", typ: field.ErrorTypeInvalid},
		{name: "name immutable", update: true, mutate: func(p *corev1.Pod) { p.Name = "web-2" }, path: "metadata.name", typ: field.ErrorTypeInvalid},
		{name: "namespace immutable", update: true, mutate: func(p *corev1.Pod) { p.Namespace = "other" }, path: "metadata.namespace", typ: field.ErrorTypeInvalid},
		{name: "uid immutable", update: true, mutate: func(p *corev1.Pod) { p.UID = "other" }, path: "metadata.uid", typ: field.ErrorTypeInvalid},
		{name: "creationTimestamp immutable", update: true, mutate: func(p *corev1.Pod) { p.CreationTimestamp.Time = p.CreationTimestamp.Add(1e9) }, path: "metadata.creationTimestamp", typ: field.ErrorTypeInvalid},
	})
}

func TestPodUpdateMessage(t *testing.T) {
	old := testPod()
	Default(old)
	p := old.DeepCopy()
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	errs := Validate(p, old)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	msg := errs[0].Error()
	for _, want := range []string{"pod updates may not change fields other than `spec.containers[*].image`", "spec.restartPolicy"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestValidatePodStatus(t *testing.T) {
	running := func(p *corev1.Pod) {
		p.Spec.NodeName = "worker-1"
		p.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort}
	}
	terminated := func(p *corev1.Pod) {
		running(p)
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}
	}
	runCases(t, testPod, []podCase{
		{name: "running", status: true, old: running, mutate: func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP, p.Status.PodIPs = "10.244.1.5", []corev1.PodIP{{IP: "10.244.1.5"}}
			p.Status.HostIP, p.Status.HostIPs = "192.168.1.10", []corev1.HostIP{{IP: "192.168.1.10"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}},
		{name: "phase unsupported", status: true, old: running, mutate: func(p *corev1.Pod) { p.Status.Phase = "Sleeping" }, path: "status.phase", typ: field.ErrorTypeNotSupported},
		{name: "podIP invalid", status: true, old: running, mutate: func(p *corev1.Pod) { p.Status.PodIP = "10.244.1" }, path: "status.podIP", typ: field.ErrorTypeInvalid},
		{name: "two IPv4 podIPs", status: true, old: running, mutate: func(p *corev1.Pod) {
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.5"}, {IP: "10.244.1.6"}}
		}, path: "status.podIPs", typ: field.ErrorTypeInvalid},
		{name: "hostIP mismatch", status: true, old: running, mutate: func(p *corev1.Pod) {
			p.Status.HostIP, p.Status.HostIPs = "192.168.1.10", []corev1.HostIP{{IP: "192.168.1.11"}}
		}, path: "status.hostIPs[0].ip", typ: field.ErrorTypeInvalid},
		{name: "qosClass immutable", status: true, old: running, mutate: func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed }, path: "status.qosClass", typ: field.ErrorTypeInvalid},
		{name: "custom condition not qualified", status: true, old: running, mutate: func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: "bad type", Status: corev1.ConditionTrue}}
		}, path: "status.conditions[0].type", typ: field.ErrorTypeInvalid},
		{name: "terminated container may not restart", status: true, old: terminated, mutate: func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		}, path: "status.containerStatuses[0].state", typ: field.ErrorTypeForbidden},
		{name: "nodeName not through status", status: true, old: running, mutate: func(p *corev1.Pod) { p.Spec.NodeName = "worker-2" }, path: "status.nodeName", typ: field.ErrorTypeForbidden},
	})
}
