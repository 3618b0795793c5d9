package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/clusterdns"
	"github.com/skiffhq/skiff/config"
)

// errNotSynced is the Service lister's answer before its first list.
var errNotSynced = errors.New("the Service cache has not synced yet")

// maxHostname is the longest host name the kubelet derives from a pod
// (a DNS label); maxUTSName is the longest the kernel takes, which an
// FQDN used as host name must fit.
const (
	maxHostname = 63
	maxUTSName  = 64
)

// podHostname returns the pod's host name and, when it has a
// spec.subdomain, its FQDN, as the kubelet does: spec.hostname or the
// pod's name, cut to 63 characters without a trailing '-' or '.'; the
// FQDN is <hostname>.<subdomain>.<namespace>.svc.<domain>.
func podHostname(pod *corev1.Pod, domain string) (hostname, fqdn string) {
	hostname = pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if len(hostname) > maxHostname {
		hostname = strings.TrimRight(hostname[:maxHostname], "-.")
	}
	if pod.Spec.Subdomain != "" {
		fqdn = fmt.Sprintf("%s.%s.%s.svc.%s", hostname, pod.Spec.Subdomain, pod.Namespace, strings.TrimSuffix(domain, "."))
	}
	return hostname, fqdn
}

// sandboxDNS fills in the sandbox's host name, FQDN and resolv.conf
// (clusterdns.ResolvConf over the node's resolv_conf, honouring dnsPolicy
// and dnsConfig). With spec.setHostnameAsFQDN the FQDN is
// the host name, as in Kubernetes.
func (w *Worker) sandboxDNS(pod *corev1.Pod, cfg *SandboxConfig) error {
	cfg.Hostname, cfg.FQDN = podHostname(pod, w.cfg.ClusterDomain)
	if cfg.FQDN != "" && pod.Spec.SetHostnameAsFQDN != nil && *pod.Spec.SetHostnameAsFQDN {
		if len(cfg.FQDN) > maxUTSName {
			return fmt.Errorf("spec.setHostnameAsFQDN: the FQDN %q is longer than %d characters", cfg.FQDN, maxUTSName)
		}
		cfg.Hostname = cfg.FQDN
	}
	host, err := os.ReadFile(w.cfg.ResolvConf)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("resolv_conf: %w", err)
	}
	var servers []string
	if w.cfg.ClusterDNS.IsValid() {
		servers = []string{w.cfg.ClusterDNS.String()}
	}
	cfg.ResolvConf, err = clusterdns.ResolvConf(pod, servers, w.cfg.ClusterDomain, host)
	return err
}

// serviceEnv returns the Service environment variables of pod's
// namespace (clusterdns.ServiceEnv), none when spec.enableServiceLinks is
// false. It fails while the Service cache has not synced, so a container
// is never started with a partial set.
func (m *podManager) serviceEnv(pod *corev1.Pod) ([]corev1.EnvVar, error) {
	if pod.Spec.EnableServiceLinks != nil && !*pod.Spec.EnableServiceLinks {
		return nil, nil
	}
	if m.services == nil {
		return nil, nil
	}
	svcs, err := m.services(pod.Namespace)
	if err != nil {
		return nil, fmt.Errorf("services of namespace %s: %w", pod.Namespace, err)
	}
	return clusterdns.ServiceEnv(svcs), nil
}

// ClusterDNSService is the node's DNS server (package clusterdns) as a
// node Service: it waits for the node's pod CIDR, then answers on port 53
// of the CIDR's gateway (clusterdns.NodeAddr), where the kube-dns
// Service's endpoint for this node points, and forwards other names to
// the nameservers of the node's resolv_conf.
func ClusterDNSService(cfg config.Worker, log *slog.Logger) Service {
	return Service{Name: "cluster-dns", Run: func(ctx context.Context, client kubernetes.Interface, node NodeInfo) error {
		var cidr string
		err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
			n, err := client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil // the API may be failing over; try again
			}
			cidr = n.Spec.PodCIDR
			return cidr != "", nil
		})
		if err != nil {
			return nil // ctx ended
		}
		addr, err := clusterdns.NodeAddr(cidr)
		if err != nil {
			return err
		}
		ds, err := clusterdns.New(clusterdns.Config{
			Client: client, Addr: net.JoinHostPort(addr.String(), strconv.Itoa(clusterdns.Port)), FreeBind: true,
			Domain: cfg.ClusterDomain, ResolvConf: cfg.ResolvConf, Log: log,
		})
		if err != nil {
			return err
		}
		return ds.Run(ctx)
	}}
}
