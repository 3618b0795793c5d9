package validation

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// tcase is one named validation case. The object under test is the
// fixture, defaulted, then changed by mutate. With update set the case is
// an update of the defaulted fixture (changed by old, if given); with
// status set it is a status update. An empty path expects no errors;
// otherwise an error of type typ at path must be among the results.
type tcase[T runtime.Object] struct {
	name   string
	update bool
	status bool
	old    func(T)
	mutate func(T)
	path   string
	typ    field.ErrorType
}

func runCases[T runtime.Object](t *testing.T, fixture func() T, cases []tcase[T]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := fixture()
			Default(obj)
			var old runtime.Object
			if c.update || c.status || c.old != nil {
				o := obj.DeepCopyObject().(T)
				if c.old != nil {
					c.old(o)
					obj = o.DeepCopyObject().(T)
				}
				old = o
			}
			if c.mutate != nil {
				c.mutate(obj)
			}
			var errs field.ErrorList
			if c.status {
				errs = ValidateStatus(obj, old)
			} else {
				errs = Validate(obj, old)
			}
			if c.path == "" {
				if len(errs) > 0 {
					t.Fatalf("want no errors, got:\n%v", errs.ToAggregate())
				}
				return
			}
			if !hasError(errs, c.path, c.typ) {
				t.Fatalf("want %s at %q, got:\n%v", c.typ, c.path, errs.ToAggregate())
			}
		})
	}
}

func hasError(errs field.ErrorList, path string, typ field.ErrorType) bool {
	for _, e := range errs {
		if e.Field == path && e.Type == typ {
			return true
		}
	}
	return false
}

var created = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

func objectMeta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              name,
		Namespace:         namespace,
		UID:               "6f1c1f4e-7a0e-4d53-9a57-1d1b6a3f0c11",
		ResourceVersion:   "7",
		CreationTimestamp: created,
		Labels:            map[string]string{"app": "web"},
	}
}

func ptrTo[T any](v T) *T { return &v }

// The fixtures are minimal valid objects of every served kind, before
// defaulting.

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: objectMeta("web-1", "default"),
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "registry.example/web:1.2",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
		},
	}
}

func testService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: objectMeta("web", "default"),
		Spec: corev1.ServiceSpec{
			Selector:  map[string]string{"app": "web"},
			ClusterIP: "10.96.0.10",
			Ports:     []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

func testNodePortService() *corev1.Service {
	s := testService()
	s.Spec.Type = corev1.ServiceTypeNodePort
	s.Spec.Ports[0].NodePort = 30080
	return s
}

func testDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: objectMeta("web", "default"),
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       testPod().Spec,
			},
		},
	}
}

func testReplicaSet() *appsv1.ReplicaSet {
	d := testDeployment()
	return &appsv1.ReplicaSet{
		ObjectMeta: objectMeta("web-5d8f", "default"),
		Spec:       appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
}

func testNamespace() *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: objectMeta("team-a", "")}
}

func testNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: objectMeta("worker-1.example", ""),
		Spec:       corev1.NodeSpec{PodCIDR: "10.244.1.0/24"},
		Status: corev1.NodeStatus{
			Capacity:  corev1.ResourceList{corev1.ResourceCPU: mustQuantity("4"), corev1.ResourceMemory: mustQuantity("8Gi")},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
		},
	}
}

func testConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: objectMeta("web-config", "default"),
		Data:       map[string]string{"app.conf": "listen 8080"},
		BinaryData: map[string][]byte{"logo.png": {0x89, 0x50}},
	}
}

func testSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: objectMeta("web-secret", "default"),
		Data:       map[string][]byte{"password": []byte("hunter2")},
	}
}

func testEndpoints() *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: objectMeta("web", "default"),
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5", NodeName: ptrTo("worker-1")}},
			Ports:     []corev1.EndpointPort{{Port: 8080}},
		}},
	}
}

func testEndpointSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  objectMeta("web-abc12", "default"),
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{"10.244.1.5"},
			Conditions: discoveryv1.EndpointConditions{Ready: ptrTo(true)},
			NodeName:   ptrTo("worker-1"),
		}},
		Ports: []discoveryv1.EndpointPort{{Name: ptrTo("http"), Port: ptrTo(int32(8080))}},
	}
}

func testEvent() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     objectMeta("web-1.17f3a", "default"),
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", APIVersion: "v1"},
		Reason:         "Scheduled",
		Message:        "Successfully assigned default/web-1 to worker-1",
		Source:         corev1.EventSource{Component: "default-scheduler"},
		Count:          1,
		Type:           corev1.EventTypeNormal,
	}
}

func testLease() *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: objectMeta("skiff-controller", "kube-system"),
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptrTo("server-1_3f2c"),
			LeaseDurationSeconds: ptrTo(int32(15)),
			LeaseTransitions:     ptrTo(int32(2)),
		},
	}
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
