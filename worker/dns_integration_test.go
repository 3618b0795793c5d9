package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/clusterdns"
	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/worker"
)

// TestPodsUseClusterDNS runs the worker with its node DNS server
// (worker.ClusterDNSService) on three real servers and a private
// containerd. Real pods resolve a Service by its short name through the
// resolv.conf the worker gave them, see the Service's environment
// variables, and one resolves its own FQDN through a headless Service.
// The pods' nameserver is the node's DNS address itself: this test runs
// in the host's network namespace, where it must not program netproxy's
// table, so the kube-dns ClusterIP → node DNS hop is proven by
// clusterdns TestClusterIPReachesNodeDNS inside namespaces of its own.
func TestPodsUseClusterDNS(t *testing.T) {
	e := newBareEnv(t)
	dnsAddr, err := clusterdns.NodeAddr(e.podCIDR)
	if err != nil {
		t.Fatal(err)
	}
	e.workerHook = func(cfg *config.Worker) []worker.Service {
		cfg.ClusterDNS = dnsAddr
		return []worker.Service{worker.ClusterDNSService(*cfg, e.logger())}
	}
	e.startWorker(t)
	t.Cleanup(func() {
		e.drain(t)
		e.stopWorker()
	})
	ctx := context.Background()
	svc, err := e.admin.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web-api"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP

	port := corev1.EnvVar{Name: "PORT", Value: "8080"}
	e.createPod(t, "dns-client", func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "client", "peers" }, port)
	no := false
	e.createPod(t, "dns-none", func(p *corev1.Pod) {
		p.Spec.EnableServiceLinks = &no
		p.Spec.DNSPolicy = corev1.DNSNone
		p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{dnsAddr.String()}, Searches: []string{"svc.cluster.local"}}
	}, port)
	var client, none *corev1.Pod
	e.waitFor(t, "both pods running", 60*time.Second, func() bool {
		client, none = e.pod("dns-client"), e.pod("dns-none")
		return running(client) && running(none)
	})
	url := func(p *corev1.Pod, path string) string { return fmt.Sprintf("http://%s:8080%s", p.Status.PodIP, path) }

	// The worker's DNS server may still be starting (it waits for the
	// node's pod CIDR); the first answer from it is the one checked.
	var body string
	e.waitFor(t, "dns-client resolves web-api", 30*time.Second, func() bool {
		code, b, err := get(url(client, "/resolve/web-api"))
		body = b
		return err == nil && code == 200
	})
	if body != ip {
		t.Errorf("web-api resolved to %q, want the ClusterIP %s", body, ip)
	}
	// The pod's own name through a headless Service named like its
	// subdomain. This test runs no endpoints controller, so it writes the
	// slice that controller would (hostname from spec.hostname).
	peersSlice(t, e, client)
	for _, tc := range []struct {
		pod        *corev1.Pod
		path, want string
		code       int
	}{
		{client, "/resolve/web-api.default", ip, 200},
		{client, "/resolve/web-api.default.svc.cluster.local.", ip, 200},
		{client, "/resolve/missing", "no such host", 404},
		{client, "/env/WEB_API_SERVICE_HOST", ip, 200},
		{client, "/env/WEB_API_SERVICE_PORT_HTTP", "80", 200},
		{client, "/env/WEB_API_PORT", "tcp://" + ip + ":80", 200},
		{client, "/", "hello from client", 200},
		{client, "/file?path=/etc/resolv.conf", "nameserver " + dnsAddr.String() + "\nsearch default.svc.cluster.local svc.cluster.local cluster.local", 200},
		{client, "/file?path=/etc/resolv.conf", "options ndots:5\n", 200},
		{client, "/file?path=/etc/hosts", client.Status.PodIP + "\tclient.peers.default.svc.cluster.local\tclient\n", 200},
		{client, "/resolve/client.peers", client.Status.PodIP, 200},
		{client, "/resolve/peers", client.Status.PodIP, 200},
		{none, "/resolve/web-api.default", ip, 200},
		{none, "/env/WEB_API_SERVICE_HOST", "", 200},
		{none, "/file?path=/etc/resolv.conf", "nameserver " + dnsAddr.String() + "\nsearch svc.cluster.local\n", 200},
	} {
		code, b, err := get(url(tc.pod, tc.path))
		if err != nil || code != tc.code || !strings.Contains(b, tc.want) || (tc.want == "" && b != "") {
			t.Errorf("%s %s: %d %q %v; want %d containing %q", tc.pod.Name, tc.path, code, b, err, tc.code, tc.want)
		}
	}
}

// peersSlice creates the headless Service "peers" and the EndpointSlice
// the endpoints controller would give it for pod p (hostname "client").
func peersSlice(t *testing.T, e *env, p *corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	_, err := e.admin.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "peers"},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready, host, port, name := true, "client", int32(8080), "http"
	_, err = e.admin.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "peers-1", Labels: map[string]string{discoveryv1.LabelServiceName: "peers"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{p.Status.PodIP}, Hostname: &host,
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "the pod resolves its own FQDN", 10*time.Second, func() bool {
		code, b, err := get(fmt.Sprintf("http://%s:8080/resolve/client.peers", p.Status.PodIP))
		return err == nil && code == 200 && b == p.Status.PodIP
	})
}
