package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// WorkerFlags registers on fs one flag per worker key (--name, --join,
// --containerd-socket, --reserved-cpu, ...). Only flags the user sets
// override the file and the environment.
func WorkerFlags(fs *pflag.FlagSet) {
	registerFlags(fs, workerSchema())
}

// LoadWorker builds a worker configuration from, in increasing precedence,
// the defaults, the YAML file at path (skipped when path is ""), the SKIFF_*
// variables in env, and the flags explicitly set on fs (which may be nil).
// It returns the validated configuration; errors name the offending key.
func LoadWorker(path string, fs *pflag.FlagSet, env []string) (Worker, error) {
	return load(workerSchema(), path, fs, env, net.DefaultResolver.LookupHost)
}

// Validate reports every problem of w, joined, each naming its key.
func (w Worker) Validate() error {
	return w.validate(net.DefaultResolver.LookupHost)
}

func (w Worker) validate(lookup lookupFunc) error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if w.Name == "" {
		add("name is required")
	} else if msgs := validation.IsDNS1123Subdomain(w.Name); len(msgs) > 0 {
		add("name %q: %s", w.Name, msgs[0])
	}
	if w.DataDir == "" {
		add("data_dir is required")
	}
	if len(w.Join) == 0 {
		add("join is required: list the gossip address of at least one server")
	}
	for i, j := range w.Join {
		if err := checkSeed(j); err != nil {
			add("join[%d] %q: %w", i, j, err)
		}
	}
	switch {
	case w.Token == "":
		add("token is required")
	case len(w.Token) < MinTokenLen:
		add("token must be at least %d characters, got %d", MinTokenLen, len(w.Token))
	}
	errs = append(errs, validateAcceptedTokens(w.Token, w.AcceptedTokens)...)
	if w.CAFile != "" {
		if _, err := os.Stat(w.CAFile); err != nil {
			add("ca_file: %w", err)
		}
	}
	if w.ContainerdSocket == "" {
		add("containerd_socket is required")
	}
	if w.Address != "" {
		if ip, err := netip.ParseAddr(w.Address); err != nil || ip.IsUnspecified() {
			add("address %q: must be a specific IP address", w.Address)
		}
	}
	var parsed []listenAddr
	for _, l := range []struct{ key, addr string }{{"gossip_addr", w.GossipAddr}, {"listen_addr", w.ListenAddr}} {
		a, err := parseListenAddr(l.key, l.addr, lookup)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, earlier := range parsed {
			if a.clashes(earlier) {
				add("%s %s clashes with %s", a.key, a.addr, earlier.key)
			}
		}
		parsed = append(parsed, a)
	}
	for k, v := range w.Labels {
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			add("labels: key %q: %s", k, msgs[0])
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			add("labels[%s]: value %q: %s", k, v, msgs[0])
		}
	}
	for i, t := range w.Taints {
		if _, _, _, err := ParseTaint(t); err != nil {
			add("taints[%d] %q: %w", i, t, err)
		}
	}
	for _, q := range []struct{ key, val string }{{"reserved.cpu", w.Reserved.CPU}, {"reserved.memory", w.Reserved.Memory}} {
		if q.val == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.val)
		if err != nil {
			add("%s %q: not a quantity like \"100m\" or \"128Mi\"", q.key, q.val)
		} else if v.Sign() < 0 {
			add("%s %q: must not be negative", q.key, q.val)
		}
	}
	if w.MaxPods < 1 {
		add("max_pods must be at least 1, got %d", w.MaxPods)
	}
	for i, r := range w.InsecureRegs {
		if err := checkRegistry(r); err != nil {
			add("insecure_registries[%d] %q: %w", i, r, err)
		}
	}
	if w.CNIBinDir == "" {
		add("cni_bin_dir is required")
	}
	if !validIfName(w.CNIBridge) {
		add("cni_bridge %q: use 1-15 letters, digits, '-' or '_'", w.CNIBridge)
	}
	if !w.ClusterDNS.IsValid() || w.ClusterDNS.IsUnspecified() {
		add("cluster_dns is required: the servers' cluster_dns")
	}
	if err := checkDomain(w.ClusterDomain); err != nil {
		add("cluster_domain %q: %w", w.ClusterDomain, err)
	}
	if w.ResolvConf == "" {
		add("resolv_conf is required (the node's resolver file, usually /etc/resolv.conf)")
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{{"lease_renew", w.LeaseRenew}, {"status_interval", w.StatusInterval}} {
		if d.d < 100*time.Millisecond {
			add("%s must be at least 100ms, got %s", d.key, d.d)
		}
	}
	if w.LeaseRenew > 20*time.Second {
		add("lease_renew must be at most 20s (the node controller judges a lease by its age), got %s", w.LeaseRenew)
	}
	if w.LogMaxSize < 4096 {
		add("log_max_size must be at least 4096 bytes, got %d", w.LogMaxSize)
	}
	switch strings.ToLower(w.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		add("log_level %q: use debug, info, warn or error", w.LogLevel)
	}
	return errors.Join(errs...)
}

// Taint effects, as Kubernetes spells them.
var taintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

// ParseTaint parses a taint written as key=value:Effect or key:Effect, as
// kubectl taint does.
func ParseTaint(s string) (key, value, effect string, err error) {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", "", errors.New("missing :Effect")
	}
	key, value, _ = strings.Cut(kv, "=")
	if msgs := validation.IsQualifiedName(key); len(msgs) > 0 {
		return "", "", "", fmt.Errorf("key %q: %s", key, msgs[0])
	}
	if msgs := validation.IsValidLabelValue(value); len(msgs) > 0 {
		return "", "", "", fmt.Errorf("value %q: %s", value, msgs[0])
	}
	for _, e := range taintEffects {
		if e == effect {
			return key, value, effect, nil
		}
	}
	return "", "", "", fmt.Errorf("effect %q: use %s", effect, strings.Join(taintEffects, ", "))
}

// checkRegistry checks a registry host with an optional port.
func checkRegistry(r string) error {
	host := r
	if h, _, err := splitHostPort(r); err == nil {
		host = h
	} else if strings.Contains(r, ":") && !strings.HasPrefix(r, "[") {
		if _, perr := netip.ParseAddr(r); perr != nil {
			return err
		}
	}
	host = strings.Trim(host, "[]")
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

// verbatimMap returns the value of the top-level key in the YAML document
// data with its keys as written (viper lower-cases them), or nil when the
// key is absent or empty. It must be a map of strings.
func verbatimMap(data []byte, key string) (any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// viper parsed the document already; a shape yaml cannot put in
		// a map of strings (a non-string key) cannot hold key either.
		return nil, nil
	}
	v, ok := doc[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a map of strings, got %s", describe(v))
	}
	return m, nil
}

// validIfName checks a Linux interface name: 1-15 characters, no slash,
// space or colon; we allow only letters, digits, '-' and '_'.
func validIfName(n string) bool {
	if n == "" || len(n) > 15 {
		return false
	}
	for _, c := range n {
		if !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
