package endpoints_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/controller/endpoints"
	"github.com/skiffhq/skiff/internal/controllertest"
	"github.com/skiffhq/skiff/testcluster"
)

// startEndpoints starts a 3-server cluster and the endpoints controller
// over server 0's API, and returns a client of another server so the
// test's writes and the controller's take different paths.
func startEndpoints(t testing.TB) (*testcluster.Cluster, kubernetes.Interface, context.Context) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx := controllertest.Context(t, 2*time.Minute)
	controllertest.Start(t, controllertest.Client(t, c, 0), func(e controllertest.Env) controllertest.Runner {
		return endpoints.New(endpoints.Config{Client: e.Client, Informers: e.Informers, Recorder: e.Recorder, Log: e.Log})
	})
	return c, controllertest.Client(t, c, 1), ctx
}

func newService(ns, name string, headless bool) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}},
		},
	}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return s
}

func createService(t testing.TB, ctx context.Context, kc kubernetes.Interface, svc *corev1.Service) {
	t.Helper()
	err := controllertest.Create(ctx, func() error {
		_, err := kc.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("create service %s: %v", svc.Name, err)
	}
}

// createPod creates a pod of app on node n1 that declares the named port
// "http" as containerPort, and reports ip and readiness for it as a
// worker would.
func createPod(t testing.TB, ctx context.Context, kc kubernetes.Interface, ns, app, name, ip string, containerPort int32, ready bool) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "example/app:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: containerPort, Protocol: corev1.ProtocolTCP}}}}},
	}
	err := controllertest.Create(ctx, func() error {
		_, err := kc.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	err = updateStatus(ctx, kc, ns, name, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = ip
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
		setReady(p, ready)
	})
	if err != nil {
		t.Fatalf("status of pod %s: %v", name, err)
	}
}

// updateStatus applies edit to the pod's status as its worker would,
// retrying conflicts and transient errors.
func updateStatus(ctx context.Context, kc kubernetes.Interface, ns, name string, edit func(*corev1.Pod)) error {
	return controllertest.Retry(ctx, func() error {
		for {
			p, err := kc.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			edit(p)
			_, err = kc.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
			if !apierrors.IsConflict(err) {
				return err
			}
		}
	})
}

func setReady(p *corev1.Pod, ready bool) {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.Now()}}
}

// flipReady sets pod's Ready condition.
func flipReady(ctx context.Context, kc kubernetes.Interface, ns, name string, ready bool) error {
	return updateStatus(ctx, kc, ns, name, func(p *corev1.Pod) { setReady(p, ready) })
}

// sliceState renders a Service's managed slices as sorted "ip:ready:port"
// strings; endpointsState renders its Endpoints as "ip:ready:port".
func sliceState(ctx context.Context, kc kubernetes.Interface, ns, svc string) []string {
	list, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc + "," + discoveryv1.LabelManagedBy + "=" + endpoints.ManagedBy})
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			port := int32(0)
			if len(s.Ports) > 0 {
				port = *s.Ports[0].Port
			}
			out = append(out, fmt.Sprintf("%s:%v:%d", e.Addresses[0], *e.Conditions.Ready, port))
		}
	}
	slices.Sort(out)
	return out
}

func endpointsState(ctx context.Context, kc kubernetes.Interface, ns, svc string) []string {
	ep, err := kc.CoreV1().Endpoints(ns).Get(ctx, svc, metav1.GetOptions{})
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, s := range ep.Subsets {
		port := int32(0)
		if len(s.Ports) > 0 {
			port = s.Ports[0].Port
		}
		for _, a := range s.Addresses {
			out = append(out, fmt.Sprintf("%s:true:%d", a.IP, port))
		}
		for _, a := range s.NotReadyAddresses {
			out = append(out, fmt.Sprintf("%s:false:%d", a.IP, port))
		}
	}
	slices.Sort(out)
	return out
}

// waitState waits until both the slices and the Endpoints of svc render as
// want, and fails the test with the last state seen otherwise.
func waitState(t testing.TB, ctx context.Context, kc kubernetes.Interface, ns, svc string, want ...string) {
	t.Helper()
	slices.Sort(want)
	var gotS, gotE []string
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := testcluster.WaitFor(wctx, func() bool {
		gotS, gotE = sliceState(ctx, kc, ns, svc), endpointsState(ctx, kc, ns, svc)
		return slices.Equal(gotS, want) && slices.Equal(gotE, want)
	})
	if err != nil {
		t.Fatalf("%s: want %q\nslices    %q\nendpoints %q", svc, want, gotS, gotE)
	}
}

// TestEndpointsFollowPods runs the controller on a real cluster: a
// Service's slices and Endpoints list its pods with their named target
// ports resolved per pod, follow readiness changes both ways and pod
// deletion, and a headless Service is handled the same way.
func TestEndpointsFollowPods(t *testing.T) {
	_, kc, ctx := startEndpoints(t)
	ns := controllertest.Namespace(t, ctx, kc)
	for _, headless := range []bool{false, true} {
		name := "web"
		if headless {
			name = "headless"
		}
		createService(t, ctx, kc, newService(ns, name, headless))
		createPod(t, ctx, kc, ns, name, name+"-a", "10.244.1.1", 8080, true)
		createPod(t, ctx, kc, ns, name, name+"-b", "10.244.1.2", 9090, false)
		createPod(t, ctx, kc, ns, "other", name+"-other", "10.244.1.3", 8080, true)
		waitState(t, ctx, kc, ns, name, "10.244.1.1:true:8080", "10.244.1.2:false:9090")

		if err := flipReady(ctx, kc, ns, name+"-b", true); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, kc, ns, name, "10.244.1.1:true:8080", "10.244.1.2:true:9090")
		if err := flipReady(ctx, kc, ns, name+"-a", false); err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, kc, ns, name, "10.244.1.1:false:8080", "10.244.1.2:true:9090")
		err := controllertest.Retry(ctx, func() error { return kc.CoreV1().Pods(ns).Delete(ctx, name+"-b", *metav1.NewDeleteOptions(0)) })
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, ctx, kc, ns, name, "10.244.1.1:false:8080")
	}
}

// TestEndpointsRestoredAndRemoved checks that a slice deleted by someone
// else comes back, and that deleting the Service removes its slices and
// Endpoints.
func TestEndpointsRestoredAndRemoved(t *testing.T) {
	_, kc, ctx := startEndpoints(t)
	ns := controllertest.Namespace(t, ctx, kc)
	createService(t, ctx, kc, newService(ns, "web", false))
	createPod(t, ctx, kc, ns, "web", "a", "10.244.2.1", 8080, true)
	waitState(t, ctx, kc, ns, "web", "10.244.2.1:true:8080")

	sel := metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"}
	err := controllertest.Retry(ctx, func() error {
		return kc.DiscoveryV1().EndpointSlices(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, ctx, kc, ns, "web", "10.244.2.1:true:8080")

	if err := controllertest.Retry(ctx, func() error { return kc.CoreV1().Services(ns).Delete(ctx, "web", metav1.DeleteOptions{}) }); err != nil {
		t.Fatal(err)
	}
	err = testcluster.WaitFor(ctx, func() bool {
		list, err := kc.DiscoveryV1().EndpointSlices(ns).List(ctx, sel)
		_, epErr := kc.CoreV1().Endpoints(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && len(list.Items) == 0 && apierrors.IsNotFound(epErr)
	})
	if err != nil {
		t.Fatal("slices or Endpoints of a deleted Service remain")
	}
}
