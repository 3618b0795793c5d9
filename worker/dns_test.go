package worker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodHostname(t *testing.T) {
	long := strings.Repeat("a", 62) + "-bcd"
	tests := []struct {
		name               string
		pod, hostname, sub string
		wantHost, wantFQDN string
	}{
		{"pod name", "web-0", "", "", "web-0", ""},
		{"spec.hostname wins", "web-0", "db", "", "db", ""},
		{"subdomain gives an FQDN", "web-0", "", "web", "web-0", "web-0.web.ns1.svc.cluster.local"},
		{"hostname and subdomain", "p", "db-1", "dbs", "db-1", "db-1.dbs.ns1.svc.cluster.local"},
		{"cut to 63 without a trailing dash", long, "", "", strings.Repeat("a", 62), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tt.pod, Namespace: "ns1"},
				Spec: corev1.PodSpec{Hostname: tt.hostname, Subdomain: tt.sub}}
			h, f := podHostname(pod, "cluster.local.")
			if h != tt.wantHost || f != tt.wantFQDN {
				t.Errorf("got %q, %q; want %q, %q", h, f, tt.wantHost, tt.wantFQDN)
			}
		})
	}
}

// TestSandboxDNS checks what the worker hands the runtime for a pod's
// sandbox, over a node resolv_conf of the test's: the cluster resolver
// with Kubernetes' search path (the node's searches after it) by
// default, the node's file with Default, dnsConfig merged, the FQDN as
// host name when asked, and a clear error for dnsPolicy None without
// dnsConfig.
func TestSandboxDNS(t *testing.T) {
	hostFile := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(hostFile, []byte("nameserver 192.0.2.1\nsearch corp.example\noptions edns0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	yes := true
	const search = "search default.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
	tests := []struct {
		name                string
		edit                func(*corev1.Pod)
		wantHost, wantFQDN  string
		wantResolv, wantErr string
	}{
		{name: "ClusterFirst", edit: func(*corev1.Pod) {}, wantHost: "p",
			wantResolv: "nameserver 10.96.0.10\n" + search + "options ndots:5\n"},
		{name: "Default", edit: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSDefault }, wantHost: "p",
			wantResolv: "nameserver 192.0.2.1\nsearch corp.example\noptions edns0\n"},
		{name: "dnsConfig merged", edit: func(p *corev1.Pod) {
			two := "2"
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"192.0.2.53"}, Searches: []string{"x.example"},
				Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}}}
		}, wantHost: "p", wantResolv: "nameserver 10.96.0.10\nnameserver 192.0.2.53\n" +
			"search default.svc.cluster.local svc.cluster.local cluster.local corp.example x.example\noptions ndots:2\n"},
		{name: "None", edit: func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"192.0.2.53"}}
		}, wantHost: "p", wantResolv: "nameserver 192.0.2.53\n"},
		{name: "None without dnsConfig", edit: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, wantErr: "spec.dnsConfig is required"},
		{name: "setHostnameAsFQDN too long", edit: func(p *corev1.Pod) {
			p.Spec.Hostname, p.Spec.Subdomain, p.Spec.SetHostnameAsFQDN = strings.Repeat("h", 40), "s", &yes
		}, wantErr: "longer than 64 characters"},
		{name: "setHostnameAsFQDN", edit: func(p *corev1.Pod) {
			p.Spec.Hostname, p.Spec.Subdomain, p.Spec.SetHostnameAsFQDN = "h", "s", &yes
		}, wantHost: "h.s.default.svc.cluster.local", wantFQDN: "h.s.default.svc.cluster.local",
			wantResolv: "nameserver 10.96.0.10\n" + search + "options ndots:5\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw, _, _ := newTestPodWorker(t, testPod(corev1.RestartPolicyAlways))
			pw.m.w.cfg.ResolvConf = hostFile
			pod := testPod(corev1.RestartPolicyAlways)
			tt.edit(pod)
			cfg := sandboxConfig(pod)
			err := pw.m.w.sandboxDNS(pod, &cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Hostname != tt.wantHost || cfg.FQDN != tt.wantFQDN {
				t.Errorf("hostname %q, FQDN %q; want %q, %q", cfg.Hostname, cfg.FQDN, tt.wantHost, tt.wantFQDN)
			}
			if cfg.ResolvConf != tt.wantResolv {
				t.Errorf("resolv.conf:\n%s\nwant:\n%s", cfg.ResolvConf, tt.wantResolv)
			}
		})
	}
}

// TestServiceEnv checks the Service variables in a container's
// environment: present by default, after the container's own, overridden
// by a variable of the same name, usable in $(VAR), absent with
// enableServiceLinks false, and an error while the cache is not ready.
func TestServiceEnv(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.20", Ports: []corev1.ServicePort{{Port: 80}}}}
	pod := testPod(corev1.RestartPolicyAlways)
	c := &corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "URL", Value: "http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/"},
		{Name: "WEB_PORT", Value: "mine"},
	}}
	pw, _, _ := newTestPodWorker(t, pod)
	pw.m.services = func(ns string) ([]*corev1.Service, error) {
		if ns != "default" {
			t.Errorf("services of namespace %q asked", ns)
		}
		return []*corev1.Service{svc}, nil
	}
	env, err := pw.env(context.Background(), pod, c)
	if err != nil {
		t.Fatal(err)
	}
	if env[0] != "URL=http://10.96.0.20:80/" || env[1] != "WEB_PORT=mine" {
		t.Errorf("the container's own variables first, expanded: %v", env)
	}
	for _, want := range []string{"WEB_SERVICE_HOST=10.96.0.20", "WEB_SERVICE_PORT=80", "WEB_PORT_80_TCP_ADDR=10.96.0.20"} {
		if !slices.Contains(env, want) {
			t.Errorf("missing %s in %v", want, env)
		}
	}
	if slices.Contains(env, "WEB_PORT=tcp://10.96.0.20:80") || len(slices.DeleteFunc(slices.Clone(env), func(s string) bool { return !strings.HasPrefix(s, "WEB_PORT=") })) != 1 {
		t.Errorf("the container's WEB_PORT must override the Service's, once: %v", env)
	}

	no := false
	pod.Spec.EnableServiceLinks = &no
	env, err = pw.env(context.Background(), pod, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 2 || env[0] != "URL=http://$(WEB_SERVICE_HOST):$(WEB_SERVICE_PORT)/" {
		t.Errorf("enableServiceLinks false: %v", env)
	}

	pod.Spec.EnableServiceLinks = nil
	pw.m.services = func(string) ([]*corev1.Service, error) { return nil, errNotSynced }
	if _, err := pw.env(context.Background(), pod, c); err == nil {
		t.Error("no error while the Service cache is not ready")
	}
}
