package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// minimalObjects are the smallest objects of every served kind a client
// could send (with the caller's name generation and service allocation
// done).
func minimalObjects() map[string]runtime.Object {
	meta := func(name, ns string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "a"}}, Spec: podSpec}
	return map[string]runtime.Object{
		"Namespace": &corev1.Namespace{ObjectMeta: meta("ns", "")},
		"Node":      &corev1.Node{ObjectMeta: meta("node-1", "")},
		"Pod":       &corev1.Pod{ObjectMeta: meta("p", "default"), Spec: podSpec},
		"Service": &corev1.Service{ObjectMeta: meta("s", "default"), Spec: corev1.ServiceSpec{
			ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 80}}}},
		"Service/headless": &corev1.Service{ObjectMeta: meta("h", "default"), Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}},
		"Service/NodePort": &corev1.Service{ObjectMeta: meta("n", "default"), Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeNodePort, ClusterIP: "10.96.0.2", Ports: []corev1.ServicePort{{Port: 80, NodePort: 30000}}}},
		"Endpoints": &corev1.Endpoints{ObjectMeta: meta("s", "default")},
		"Event": &corev1.Event{ObjectMeta: meta("e", "default"),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "default"}},
		"ConfigMap":     &corev1.ConfigMap{ObjectMeta: meta("c", "default")},
		"Secret":        &corev1.Secret{ObjectMeta: meta("s", "default")},
		"Deployment":    &appsv1.Deployment{ObjectMeta: meta("d", "default"), Spec: appsv1.DeploymentSpec{Selector: selector, Template: template}},
		"ReplicaSet":    &appsv1.ReplicaSet{ObjectMeta: meta("r", "default"), Spec: appsv1.ReplicaSetSpec{Selector: selector, Template: template}},
		"EndpointSlice": &discoveryv1.EndpointSlice{ObjectMeta: meta("s-1", "default"), AddressType: discoveryv1.AddressTypeIPv4},
		"Lease":         &coordinationv1.Lease{ObjectMeta: meta("l", "default")},
	}
}

func TestDefaultThenValidateEveryKind(t *testing.T) {
	for kind, obj := range minimalObjects() {
		t.Run(kind, func(t *testing.T) {
			Default(obj)
			if errs := Validate(obj, nil); len(errs) > 0 {
				t.Fatalf("create: %v", errs.ToAggregate())
			}
			once := obj.DeepCopyObject()
			Default(obj)
			if !apiequality.Semantic.DeepEqual(once, obj) {
				t.Fatalf("Default is not idempotent")
			}
			// As stored: the store sets resourceVersion, updates carry it.
			m, _ := meta.Accessor(once)
			m.SetResourceVersion("1")
			next := once.DeepCopyObject()
			if errs := Validate(next, once); len(errs) > 0 {
				t.Fatalf("no-op update: %v", errs.ToAggregate())
			}
		})
	}
}

func TestPodDefaults(t *testing.T) {
	p := testPod()
	p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: mustQuantity("500m")}
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}}}
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch"}, {Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}}
	Default(p)
	s := p.Spec
	c := s.Containers[0]
	switch {
	case s.RestartPolicy != corev1.RestartPolicyAlways, s.DNSPolicy != corev1.DNSClusterFirst,
		*s.TerminationGracePeriodSeconds != 30, s.SchedulerName != "default-scheduler",
		s.SecurityContext == nil, !*s.EnableServiceLinks:
		t.Fatalf("pod spec defaults: %+v", s)
	case c.TerminationMessagePath != "/dev/termination-log", c.TerminationMessagePolicy != corev1.TerminationMessageReadFile,
		c.ImagePullPolicy != corev1.PullIfNotPresent, c.Ports[0].Protocol != corev1.ProtocolTCP:
		t.Fatalf("container defaults: %+v", c)
	case c.Resources.Requests.Cpu().String() != "500m":
		t.Fatalf("requests not defaulted from limits: %v", c.Resources.Requests)
	}
	pr := c.LivenessProbe
	if pr.TimeoutSeconds != 1 || pr.PeriodSeconds != 10 || pr.SuccessThreshold != 1 || pr.FailureThreshold != 3 ||
		pr.HTTPGet.Path != "/" || pr.HTTPGet.Scheme != corev1.URISchemeHTTP {
		t.Fatalf("probe defaults: %+v", pr)
	}
	if s.Volumes[0].EmptyDir == nil || *s.Volumes[1].ConfigMap.DefaultMode != 0644 {
		t.Fatalf("volume defaults: %+v", s.Volumes)
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                         corev1.PullAlways,
		"nginx:latest":                  corev1.PullAlways,
		"nginx:1.27":                    corev1.PullIfNotPresent,
		"registry:5000/team/app":        corev1.PullAlways,
		"registry:5000/team/app:v2":     corev1.PullIfNotPresent,
		"nginx@sha256:0123456789abcdef": corev1.PullIfNotPresent,
		"nginx:latest@sha256:0123":      corev1.PullAlways,
	} {
		if got := defaultPullPolicy(image); got != want {
			t.Errorf("defaultPullPolicy(%q) = %s, want %s", image, got, want)
		}
	}
}

func TestDispatchErrors(t *testing.T) {
	internal := func(t *testing.T, errs field.ErrorList) {
		t.Helper()
		if len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
			t.Fatalf("want one internal error, got %v", errs)
		}
	}
	t.Run("unknown type", func(t *testing.T) { internal(t, Validate(&corev1.PodTemplate{}, nil)) })
	t.Run("nil object", func(t *testing.T) { internal(t, Validate((*corev1.Pod)(nil), nil)) })
	t.Run("old of another kind", func(t *testing.T) { internal(t, Validate(testPod(), testService())) })
	t.Run("status without old", func(t *testing.T) { internal(t, ValidateStatus(testPod(), nil)) })
	t.Run("kind without status", func(t *testing.T) { internal(t, ValidateStatus(testConfigMap(), testConfigMap())) })
	t.Run("typed nil old is a create", func(t *testing.T) {
		p := testPod()
		Default(p)
		if errs := Validate(p, (*corev1.Pod)(nil)); len(errs) > 0 {
			t.Fatalf("want no errors, got %v", errs)
		}
	})
	Default(nil)
	Default(&corev1.PodTemplate{})
}
