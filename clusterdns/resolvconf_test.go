package clusterdns

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const hostConf = `# the node's resolver
nameserver 192.0.2.53
nameserver 192.0.2.54
search corp.example
options edns0 timeout:2
`

func TestResolvConf(t *testing.T) {
	pod := func(policy v1.DNSPolicy, hostNet bool, cfg *v1.PodDNSConfig) *v1.Pod {
		return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}, Spec: v1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: cfg}}
	}
	cluster := []string{"10.96.0.10"}
	cases := []struct {
		name    string
		pod     *v1.Pod
		cluster []string
		want    string
		err     string
	}{
		{name: "default policy is ClusterFirst", pod: pod("", false, nil), cluster: cluster,
			want: "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n"},
		{name: "ClusterFirst on the host network uses the node's", pod: pod(v1.DNSClusterFirst, true, nil), cluster: cluster,
			want: "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions edns0 timeout:2\n"},
		{name: "ClusterFirstWithHostNet", pod: pod(v1.DNSClusterFirstWithHostNet, true, nil), cluster: cluster,
			want: "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n"},
		{name: "ClusterFirst without cluster DNS falls back", pod: pod(v1.DNSClusterFirst, false, nil),
			want: "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions edns0 timeout:2\n"},
		{name: "Default", pod: pod(v1.DNSDefault, false, nil), cluster: cluster,
			want: "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions edns0 timeout:2\n"},
		{name: "None with dnsConfig", cluster: cluster, pod: pod(v1.DNSNone, false, &v1.PodDNSConfig{
			Nameservers: []string{"1.2.3.4"}, Searches: []string{"a.example"}, Options: []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}}}),
			want: "nameserver 1.2.3.4\nsearch a.example\noptions ndots:2\n"},
		{name: "None without dnsConfig", pod: pod(v1.DNSNone, false, nil), err: "spec.dnsConfig"},
		{name: "unknown policy", pod: pod("Sometimes", false, nil), err: "spec.dnsPolicy"},
		{name: "dnsConfig merges into ClusterFirst", cluster: cluster, pod: pod(v1.DNSClusterFirst, false, &v1.PodDNSConfig{
			Nameservers: []string{"10.96.0.10", "1.1.1.1", "8.8.8.8", "9.9.9.9"},
			Searches:    []string{"svc.cluster.local", "extra.example."},
			Options:     []v1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("1")}, {Name: "edns0"}}}),
			want: "nameserver 10.96.0.10\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example extra.example\noptions ndots:1 edns0\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolvConf(tc.pod, tc.cluster, "cluster.local.", []byte(hostConf))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestServiceEnv(t *testing.T) {
	svcs := []*v1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "redis-primary"}, Spec: v1.ServiceSpec{ClusterIP: "10.96.0.11",
			Ports: []v1.ServicePort{{Name: "redis", Port: 6379, Protocol: v1.ProtocolTCP}, {Name: "metrics-x", Port: 9121, Protocol: v1.ProtocolUDP}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "headless"}, Spec: v1.ServiceSpec{ClusterIP: "None", Ports: []v1.ServicePort{{Port: 80}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Spec: v1.ServiceSpec{ClusterIP: "10.96.0.12", Ports: []v1.ServicePort{{Port: 443}}}},
	}
	var got []string
	for _, e := range ServiceEnv(svcs) {
		got = append(got, e.Name+"="+e.Value)
	}
	want := []string{
		"API_SERVICE_HOST=10.96.0.12", "API_SERVICE_PORT=443", "API_PORT=tcp://10.96.0.12:443",
		"API_PORT_443_TCP=tcp://10.96.0.12:443", "API_PORT_443_TCP_PROTO=tcp", "API_PORT_443_TCP_PORT=443", "API_PORT_443_TCP_ADDR=10.96.0.12",
		"REDIS_PRIMARY_SERVICE_HOST=10.96.0.11", "REDIS_PRIMARY_SERVICE_PORT=6379",
		"REDIS_PRIMARY_SERVICE_PORT_REDIS=6379", "REDIS_PRIMARY_SERVICE_PORT_METRICS_X=9121",
		"REDIS_PRIMARY_PORT=tcp://10.96.0.11:6379",
		"REDIS_PRIMARY_PORT_6379_TCP=tcp://10.96.0.11:6379", "REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp",
		"REDIS_PRIMARY_PORT_6379_TCP_PORT=6379", "REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.96.0.11",
		"REDIS_PRIMARY_PORT_9121_UDP=udp://10.96.0.11:9121", "REDIS_PRIMARY_PORT_9121_UDP_PROTO=udp",
		"REDIS_PRIMARY_PORT_9121_UDP_PORT=9121", "REDIS_PRIMARY_PORT_9121_UDP_ADDR=10.96.0.11",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
