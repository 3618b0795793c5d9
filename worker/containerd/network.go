package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/containerd/pkg/netns"
	gocni "github.com/containerd/go-cni"

	"github.com/skiffhq/skiff/worker"
)

// conflist returns the worker's CNI network: a bridge with host-local
// IPAM on the pod CIDR (the first address is the gateway), masquerading
// traffic that leaves the node, and portmap for hostPort.
func conflist(cidr, bridge, ipamDir string) ([]byte, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("podCIDR %q: %w", cidr, err)
	}
	doc := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "skiff",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": bridge, "isGateway": true, "ipMasq": true, "hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": p.Masked().String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": ipamDir,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}, "snat": true},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// SetPodCIDR writes the CNI conflist for cidr and loads it.
func (r *Runtime) SetPodCIDR(cidr string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cidr == r.cidr && r.cni != nil {
		return nil
	}
	b, err := conflist(cidr, r.opts.Bridge, filepath.Join(r.opts.DataDir, "cni-ipam"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.opts.CNIConfDir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(r.opts.CNIConfDir, "10-skiff.conflist")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	c, err := gocni.New(gocni.WithPluginDir([]string{r.opts.CNIBinDir}), gocni.WithPluginConfDir(r.opts.CNIConfDir),
		gocni.WithMinNetworkCount(2), gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return fmt.Errorf("cni: %w", err)
	}
	if err := c.Load(gocni.WithLoNetwork, gocni.WithConfListFile(path)); err != nil {
		return fmt.Errorf("cni: load %s: %w", path, err)
	}
	r.cni, r.cidr = c, cidr
	return nil
}

// cniTimeout bounds one CNI ADD or DEL; they take tens of milliseconds.
const cniTimeout = 30 * time.Second

func (r *Runtime) network() (gocni.CNI, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cni == nil {
		return nil, errors.New("the node has no podCIDR yet")
	}
	return r.cni, nil
}

func (r *Runtime) podDir(uid string) string { return filepath.Join(r.opts.DataDir, "pods", uid) }

func sandboxFile(dir string) string { return filepath.Join(dir, "sandbox.json") }

// RunSandbox creates the pod's network namespace and attaches it to the
// pod network; an existing sandbox is returned as it is.
func (r *Runtime) RunSandbox(ctx context.Context, cfg worker.SandboxConfig) (worker.Sandbox, error) {
	dir := r.podDir(cfg.PodUID)
	if sb, err := readSandbox(dir); err == nil {
		return sb, nil
	}
	cni, err := r.network()
	if err != nil {
		return worker.Sandbox{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return worker.Sandbox{}, err
	}
	ns, err := netns.NewNetNS(filepath.Join(r.opts.DataDir, "netns"))
	if err != nil {
		return worker.Sandbox{}, fmt.Errorf("create network namespace: %w", err)
	}
	var ports []gocni.PortMapping
	for _, p := range cfg.HostPorts {
		ports = append(ports, gocni.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostIP: p.HostIP})
	}
	// A CNI plugin that hangs must not hold every later pod: bound it.
	sctx, cancel := context.WithTimeout(ctx, cniTimeout)
	defer cancel()
	r.cniMu.Lock()
	res, err := cni.Setup(sctx, cfg.PodUID, ns.GetPath(), gocni.WithCapabilityPortMap(ports),
		gocni.WithLabels(map[string]string{"IgnoreUnknown": "1", "K8S_POD_NAMESPACE": cfg.Namespace, "K8S_POD_NAME": cfg.PodName, "K8S_POD_UID": cfg.PodUID}))
	r.cniMu.Unlock()
	if err != nil {
		ns.Remove()
		return worker.Sandbox{}, fmt.Errorf("cni setup: %w", err)
	}
	sb := worker.Sandbox{PodUID: cfg.PodUID, PodName: cfg.PodName, Namespace: cfg.Namespace, NetNS: ns.GetPath(), Dir: dir}
	// go-cni names the pod network's interface after its position among
	// the networks (lo first); take the address of whichever is in the
	// pod's namespace and not loopback.
	for name, iface := range res.Interfaces {
		if name == "lo" || iface.Sandbox == "" {
			continue
		}
		for _, ipc := range iface.IPConfigs {
			if ipc.IP.To4() != nil || sb.IP == "" {
				sb.IP = ipc.IP.String()
			}
		}
	}
	if sb.IP == "" {
		r.cniMu.Lock()
		cni.Remove(ctx, cfg.PodUID, ns.GetPath())
		r.cniMu.Unlock()
		ns.Remove()
		return worker.Sandbox{}, fmt.Errorf("cni setup gave the pod no address")
	}
	sb.Hostname = cfg.Hostname
	if sb.Hostname == "" {
		sb.Hostname = cfg.PodName
	}
	if err := writePodFiles(dir, sb, cfg); err != nil {
		return worker.Sandbox{}, err
	}
	b, _ := json.Marshal(sb)
	if err := os.WriteFile(sandboxFile(dir), b, 0o600); err != nil {
		return worker.Sandbox{}, err
	}
	return sb, nil
}

// writePodFiles writes the pod's /etc/hosts (the pod's IP under its FQDN
// and host name, as the kubelet's) and, when the worker gave one, its
// /etc/resolv.conf, which CreateContainer mounts into every container.
func writePodFiles(dir string, sb worker.Sandbox, cfg worker.SandboxConfig) error {
	names := sb.Hostname
	if cfg.FQDN != "" {
		names = cfg.FQDN + "\t" + sb.Hostname
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\t%s\n", sb.IP, names)
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644); err != nil {
		return err
	}
	if cfg.ResolvConf == "" {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, resolvConfFile), []byte(cfg.ResolvConf), 0o644)
}

// resolvConfFile is the pod's resolv.conf in its directory.
const resolvConfFile = "resolv.conf"

func readSandbox(dir string) (worker.Sandbox, error) {
	b, err := os.ReadFile(sandboxFile(dir))
	if err != nil {
		return worker.Sandbox{}, err
	}
	var sb worker.Sandbox
	if err := json.Unmarshal(b, &sb); err != nil {
		return worker.Sandbox{}, err
	}
	return sb, nil
}

// RemoveSandbox detaches the pod from the network and removes its
// namespace and directory.
func (r *Runtime) RemoveSandbox(ctx context.Context, podUID string) error {
	dir := r.podDir(podUID)
	sb, err := readSandbox(dir)
	if err == nil {
		if cni, nerr := r.network(); nerr == nil {
			dctx, cancel := context.WithTimeout(ctx, cniTimeout)
			defer cancel()
			r.cniMu.Lock()
			err := cni.Remove(dctx, podUID, sb.NetNS)
			r.cniMu.Unlock()
			if err != nil {
				return fmt.Errorf("cni remove: %w", err)
			}
		}
		if err := netns.LoadNetNS(sb.NetNS).Remove(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove network namespace: %w", err)
		}
	}
	return os.RemoveAll(dir)
}

// ListSandboxes returns the sandboxes recorded under the data directory.
func (r *Runtime) ListSandboxes(ctx context.Context) ([]worker.Sandbox, error) {
	ents, err := os.ReadDir(filepath.Join(r.opts.DataDir, "pods"))
	if err != nil {
		return nil, err
	}
	var out []worker.Sandbox
	for _, e := range ents {
		sb, err := readSandbox(filepath.Join(r.opts.DataDir, "pods", e.Name()))
		if err != nil {
			sb = worker.Sandbox{PodUID: e.Name(), Dir: filepath.Join(r.opts.DataDir, "pods", e.Name())}
		}
		out = append(out, sb)
	}
	return out, nil
}
