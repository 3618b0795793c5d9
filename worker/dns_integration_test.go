package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/clusterdns"
	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/worker"
)

// TestPodsUseClusterDNS runs the worker with its node DNS server
// (worker.ClusterDNSService) on three real servers and a private
// containerd, and real pods that resolve a Service by its short name
// through the resolv.conf the worker gave them, and see the Service's
// environment variables. The pods' nameserver is the node's DNS address
// itself: this test runs in the host's network namespace, where it must
// not program netproxy's table, so the kube-dns ClusterIP → node DNS hop
// is left to netproxy's own data-plane tests (internalTrafficPolicy
// Local) and controller/kubedns's.
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
	e.createPod(t, "dns-client", func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "client", "web-api" }, port)
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
		{client, "/file?path=/etc/hosts", client.Status.PodIP + "\tclient.web-api.default.svc.cluster.local\tclient\n", 200},
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
