package netsim

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// Net is a set of test hosts on one switch: each host is a network
// namespace with one TAP interface on the subnet. The process that makes a
// Net must be root. Close removes every namespace it made.
type Net struct {
	prefix string
	subnet netip.Prefix
	sw     *Switch

	mu    sync.Mutex
	next  netip.Addr
	hosts []*Host
}

// Host is one address on the net.
type Host struct {
	// Name is the host's name in the Net; NS is its network namespace, or
	// "" for the host that stands for the calling process's namespace.
	Name, NS string
	Addr     netip.Addr
	// Port is the host's switch port, where its faults are set.
	Port *Port
}

// Supported reports why Nets cannot be made here, or nil if they can.
func Supported() error {
	if os.Geteuid() != 0 {
		return errors.New("netsim needs root (network namespaces and TAP devices)")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("netsim needs /dev/net/tun: %w", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("netsim needs iproute2's ip: %w", err)
	}
	return nil
}

// NewNet makes an empty net. prefix names its namespaces and interfaces
// and must be unique among the nets that exist at once on the machine
// (at most 9 characters, so that interface names fit in 15). The subnet's
// addresses are handed out in order from its second address on.
func NewNet(prefix string, subnet netip.Prefix, log *slog.Logger) (*Net, error) {
	if err := Supported(); err != nil {
		return nil, err
	}
	if len(prefix) > 9 {
		return nil, fmt.Errorf("netsim: prefix %q is longer than 9 characters", prefix)
	}
	subnet = subnet.Masked()
	return &Net{prefix: prefix, subnet: subnet, sw: New(log), next: subnet.Addr().Next()}, nil
}

// Switch returns the switch the hosts are on.
func (n *Net) Switch() *Switch { return n.sw }

// Subnet returns the net's subnet.
func (n *Net) Subnet() netip.Prefix { return n.subnet }

// AddHost makes a host in a new network namespace.
func (n *Net) AddHost(name string) (*Host, error) { return n.add(name, true) }

// AddLocal gives the calling process's namespace an address on the net,
// so that the test itself can reach the hosts. A net has at most one.
func (n *Net) AddLocal(name string) (*Host, error) { return n.add(name, false) }

func (n *Net) add(name string, netns bool) (*Host, error) {
	n.mu.Lock()
	addr := n.next
	if !n.subnet.Contains(addr) {
		n.mu.Unlock()
		return nil, fmt.Errorf("netsim: subnet %s is full", n.subnet)
	}
	n.next = addr.Next()
	idx := len(n.hosts)
	n.mu.Unlock()

	h := &Host{Name: name, Addr: addr}
	ifname := fmt.Sprintf("%s%d", n.prefix, idx)
	tap, err := OpenTAP(ifname)
	if err != nil {
		return nil, err
	}
	cidr := netip.PrefixFrom(addr, n.subnet.Bits()).String()
	var steps [][]string
	if netns {
		h.NS = fmt.Sprintf("%s-%s", n.prefix, name)
		steps = [][]string{
			{"netns", "add", h.NS},
			{"link", "set", ifname, "netns", h.NS},
			{"-n", h.NS, "link", "set", "lo", "up"},
			{"-n", h.NS, "addr", "add", cidr, "dev", ifname},
			{"-n", h.NS, "link", "set", ifname, "up"},
		}
	} else {
		steps = [][]string{
			{"addr", "add", cidr, "dev", ifname},
			{"link", "set", ifname, "up"},
		}
	}
	for _, args := range steps {
		if err := ip(args...); err != nil {
			tap.Close()
			if h.NS != "" {
				ip("netns", "del", h.NS)
			}
			return nil, err
		}
	}
	h.Port = n.sw.Attach(name, tap)
	n.mu.Lock()
	n.hosts = append(n.hosts, h)
	n.mu.Unlock()
	return h, nil
}

// Command returns a command that runs in the host's namespace.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	if h.NS == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Close stops the switch and deletes the namespaces; the TAP devices go
// with their files.
func (n *Net) Close() error {
	err := n.sw.Close()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.hosts {
		if h.NS != "" {
			err = errors.Join(err, ip("netns", "del", h.NS))
		}
	}
	n.hosts = nil
	return err
}

func ip(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ProcessPrefix returns a prefix for a Net that no other live process
// uses: "nt" and the process id.
func ProcessPrefix() string { return fmt.Sprintf("nt%d", os.Getpid()) }

// RemoveStale deletes the namespaces of Nets named by ProcessPrefix whose
// process has died without closing them (a test killed by a timeout).
func RemoveStale() error {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return fmt.Errorf("ip netns list: %w", err)
	}
	var errs []error
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		var pid int
		if _, err := fmt.Sscanf(name, "nt%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		errs = append(errs, ip("netns", "del", name))
	}
	return errors.Join(errs...)
}

// testRange is 198.18.0.0/15, the range reserved for network tests
// (RFC 2544).
var testRange = netip.MustParsePrefix("198.18.0.0/15")

// FreeSubnet returns a /24 of 198.18.0.0/15 that no interface of the
// calling namespace has an address in, trying first the one the process id
// picks so that concurrent test processes rarely collide.
func FreeSubnet() (netip.Prefix, error) {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("ip addr show: %w", err)
	}
	used := map[netip.Prefix]bool{}
	for _, f := range strings.Fields(string(out)) {
		if p, err := netip.ParsePrefix(f); err == nil && testRange.Contains(p.Addr()) {
			q, _ := p.Addr().Prefix(24)
			used[q] = true
		}
	}
	const n = 512 // /24s in a /15
	base := testRange.Addr().As4()
	for i := range n {
		k := (os.Getpid() + i) % n
		a := base
		a[1] += byte(k / 256)
		a[2] = byte(k % 256)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		if !used[p] {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("netsim: every /24 of 198.18.0.0/15 is in use")
}
