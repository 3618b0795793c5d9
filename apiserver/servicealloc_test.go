package apiserver_test

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/apiserver/apitest"
)

const allocPrefix = "/registry/skiff.io/"

// allocations returns every allocation key in the store with the service
// key that owns it.
func allocations(st *apitest.LocalStore) map[string]string {
	kvs, _, _ := st.Store().List(allocPrefix, "", 0)
	out := map[string]string{}
	for _, kv := range kvs {
		out[strings.TrimPrefix(kv.Key, allocPrefix)] = string(kv.Value)
	}
	return out
}

// TestServiceUpdateAllocations drives a Service through every allocation
// transition with whole-object updates and checks after each that the
// store holds exactly the claims the stored services name: an update
// claims and releases in its own transaction, as a create and a delete do.
func TestServiceUpdateAllocations(t *testing.T) {
	srv, st := apitest.NewServer(t)
	kc, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svcs := kc.CoreV1().Services("default")
	const keyA, keyB, keyH = "/registry/services/default/a", "/registry/services/default/b", "/registry/services/default/h"

	// check compares the store's claims with what the stored services
	// name, and with want when given.
	check := func(t *testing.T, want map[string]string) {
		t.Helper()
		got := allocations(st)
		named := map[string]string{}
		list, err := svcs.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			owner := "/registry/services/default/" + s.Name
			if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
				named["clusterips/"+ip] = owner
			}
			for _, p := range s.Spec.Ports {
				if s.Spec.Type == corev1.ServiceTypeNodePort && (p.NodePort < 30000 || p.NodePort > 32767) {
					t.Errorf("service %s port %d: nodePort %d outside the range", s.Name, p.Port, p.NodePort)
				}
				if p.NodePort != 0 {
					named["nodeports/"+strconv.Itoa(int(p.NodePort))] = owner
				}
			}
		}
		if !maps.Equal(got, named) {
			t.Errorf("store claims %v, services name %v", got, named)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("claim %s: owner %q, want %q", k, got[k], v)
			}
		}
	}
	update := func(t *testing.T, name string, mutate func(*corev1.Service)) (*corev1.Service, error) {
		t.Helper()
		cur, err := svcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		mutate(cur)
		return svcs.Update(ctx, cur, metav1.UpdateOptions{})
	}

	a, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "a"}, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ipA := a.Spec.ClusterIP
	check(t, map[string]string{"clusterips/" + ipA: keyA})

	var first int32
	t.Run("ClusterIP to NodePort allocates a port", func(t *testing.T) {
		out, err := update(t, "a", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
		if err != nil {
			t.Fatal(err)
		}
		first = out.Spec.Ports[0].NodePort
		if first == 0 {
			t.Fatal("the update stored nodePort 0")
		}
		check(t, map[string]string{"nodeports/" + strconv.Itoa(int(first)): keyA})
	})
	second := int32(30000) + (first-30000+1)%2768
	t.Run("nodePort change claims the new port and releases the old", func(t *testing.T) {
		out, err := update(t, "a", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = second })
		if err != nil {
			t.Fatal(err)
		}
		if out.Spec.Ports[0].NodePort != second {
			t.Fatalf("nodePort %d, want %d", out.Spec.Ports[0].NodePort, second)
		}
		check(t, map[string]string{"nodeports/" + strconv.Itoa(int(second)): keyA, "nodeports/" + strconv.Itoa(int(first)): ""})
	})
	taken := int32(30000) + (second-30000+1)%2768
	t.Run("a port another service holds is refused", func(t *testing.T) {
		if _, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "b"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "b"},
				Ports: []corev1.ServicePort{{Port: 80, NodePort: taken}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err := update(t, "a", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = taken })
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.ports[0].nodePort") || !strings.Contains(err.Error(), "provided port is already allocated") {
			t.Fatalf("update to a taken port: %v, want 422 provided port is already allocated", err)
		}
		check(t, map[string]string{"nodeports/" + strconv.Itoa(int(second)): keyA, "nodeports/" + strconv.Itoa(int(taken)): keyB})
		// A create asking for it is refused the same way.
		_, err = svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "c"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: taken}}}}, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "provided port is already allocated") {
			t.Fatalf("create with a taken port: %v", err)
		}
		check(t, nil)
	})
	t.Run("NodePort to ClusterIP releases the port", func(t *testing.T) {
		out, err := update(t, "a", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP })
		if err != nil {
			t.Fatal(err)
		}
		if np := out.Spec.Ports[0].NodePort; np != 0 {
			t.Fatalf("nodePort %d kept on a ClusterIP service", np)
		}
		check(t, map[string]string{"nodeports/" + strconv.Itoa(int(second)): "", "clusterips/" + ipA: keyA})
	})
	t.Run("headless holds nothing", func(t *testing.T) {
		if _, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "h"},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "h"},
				Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		out, err := update(t, "h", func(s *corev1.Service) {
			s.Labels = map[string]string{"x": "y"}
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "b", Port: 81})
			s.Spec.Ports[0].Name = "a"
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Fatalf("headless clusterIP became %q", out.Spec.ClusterIP)
		}
		for k, v := range allocations(st) {
			if v == keyH {
				t.Errorf("headless service holds %s", k)
			}
		}
		check(t, nil)
	})
	t.Run("delete releases", func(t *testing.T) {
		for _, n := range []string{"a", "b", "h"} {
			if err := svcs.Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := allocations(st); len(got) != 0 {
			t.Fatalf("claims left after deleting every service: %v", got)
		}
	})
}
