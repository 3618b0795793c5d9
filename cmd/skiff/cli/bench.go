package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// gapMaxWrites bounds a --for run's writes when --n is not given: far more
// than one serial writer manages in any sensible duration.
const gapMaxWrites = 1_000_000

// benchOptions are the flags of `skiff bench api`.
type benchOptions struct {
	kubeconfig string
	clients    int
	n          int
	size       int
	dur        time.Duration // --for; zero for a run of n writes
	servers    []string
	namespace  string
	keep       bool
	timeout    time.Duration
}

func newBenchCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a running cluster",
	}
	var o benchOptions
	api := &cobra.Command{
		Use:   "api",
		Short: "Measure Kubernetes API writes: throughput and latency, or the longest write gap",
		Long: `Create ConfigMaps through the Kubernetes API and print one line in the
format of the etcd anchor's load generator:

  writes=N clients=C size=S errors=E elapsed=Xs throughput=T/s p50=Pms p99=Qms

Without --for, C clients create N ConfigMaps (one data key of S bytes each),
spread round-robin over the servers, each server with its own client.
With --for D, one client creates ConfigMaps one after another for D, each
write bounded by 500ms and moving on to the next server when it fails, and
the line ends with max_gap: the longest time between two successful writes
(or from the start to the first, or from the last to the end). Run it while
the leader is killed to measure write unavailability.

writes counts the writes sent and errors those that failed; throughput and
the latencies count the successful writes only.

The servers are --servers, else every server of the Raft group as the
kubeconfig's server lists it; credentials and CA come from the kubeconfig.
The run's ConfigMaps, labelled run=<id>, are deleted afterwards (not
measured) unless --keep.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := o.validate()
			if err == nil && o.kubeconfig == "" && lookupEnv(e.environ, "KUBECONFIG") == "" {
				err = errors.New("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
			}
			if err != nil {
				return usageError{cmd: strings.TrimPrefix(cmd.CommandPath(), "skiff "), err: err}
			}
			if o.dur > 0 && !cmd.Flags().Changed("n") {
				o.n = gapMaxWrites
			}
			return benchAPI(cmd.Context(), e, o)
		},
	}
	f := api.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig with the API server, credentials and CA (default $KUBECONFIG)")
	f.IntVar(&o.clients, "clients", 64, "concurrent writers (without --for)")
	f.IntVar(&o.n, "n", 20000, "writes; with --for a cap on them, 1000000 unless given")
	f.IntVar(&o.size, "size", 256, "bytes of each ConfigMap's value")
	f.DurationVar(&o.dur, "for", 0, "write serially for this long, failing over between servers, and report max_gap")
	f.StringSliceVar(&o.servers, "servers", nil, "API URLs to send the writes to (default: every server of the Raft group)")
	f.StringVar(&o.namespace, "namespace", "default", "namespace of the ConfigMaps")
	f.BoolVar(&o.keep, "keep", false, "keep the ConfigMaps instead of deleting them afterwards")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on the writes not sent by then (without --for)")
	cmd.AddCommand(api, newBenchSchedulerCmd(e))
	return cmd
}

func (o benchOptions) validate() error {
	switch {
	case o.clients < 1:
		return fmt.Errorf("--clients must be at least 1, got %d", o.clients)
	case o.n < 1:
		return fmt.Errorf("--n must be at least 1, got %d", o.n)
	case o.size < 0:
		return fmt.Errorf("--size must not be negative, got %d", o.size)
	case o.dur < 0:
		return fmt.Errorf("--for must be positive, got %s", o.dur)
	case o.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %s", o.timeout)
	case o.namespace == "":
		return errors.New("--namespace must not be empty")
	}
	return nil
}

// benchAPI runs one measurement and prints its line, then deletes what it
// created unless o.keep.
func benchAPI(ctx context.Context, e env, o benchOptions) error {
	base, err := loadKubeconfig(o.kubeconfig, e.environ)
	if err != nil {
		return err
	}
	urls := o.servers
	if len(urls) == 0 {
		if urls, err = discoverServers(ctx, base); err != nil {
			return err
		}
	}
	conns := o.clients
	if o.dur > 0 {
		conns = 1
	}
	clientsets := make([]*kubernetes.Clientset, len(urls))
	targets := make([]corev1client.ConfigMapInterface, len(urls))
	for i, u := range urls {
		cs, tr, err := benchClientset(base, u, conns)
		if err != nil {
			return err
		}
		defer tr.CloseIdleConnections()
		clientsets[i], targets[i] = cs, cs.CoreV1().ConfigMaps(o.namespace)
	}
	id, err := newRunID()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "bench: run %s against %s\n", id, strings.Join(urls, ", "))

	w := benchWriter{id: id, value: strings.Repeat("v", o.size)}
	var sum benchSummary
	if o.dur > 0 {
		sum = gapLoad(ctx, targets, w, o.dur, o.n)
	} else {
		sum = countLoad(ctx, targets, w, o.clients, o.n, time.Now().Add(o.timeout))
	}
	sum.size = o.size
	if _, err := fmt.Fprintln(e.stdout, sum); err != nil {
		return err
	}
	if sum.firstErr != nil {
		fmt.Fprintf(e.stderr, "bench: first error: %v\n", sum.firstErr)
	}

	var errs []error
	if o.dur == 0 && sum.writes < o.n {
		errs = append(errs, fmt.Errorf("sent %d of %d writes before the deadline or interrupt", sum.writes, o.n))
	}
	// A failed write may still have created its ConfigMap, so any write
	// sent calls for a cleanup.
	if sum.writes > 0 && !o.keep {
		// DeleteCollection deletes one object after another, each far
		// faster on the leader, so it goes there first when known.
		leader := leaderIndex(ctx, urls, clientsets)
		order := append(slices.Clone(targets[leader:]), targets[:leader]...)
		if err := deleteRun(ctx, order, id); err != nil {
			errs = append(errs, fmt.Errorf("%w; delete them with: kubectl delete configmaps -n %s -l %s=%s", err, o.namespace, benchLabel, id))
		}
	}
	return errors.Join(errs...)
}

// loadKubeconfig reads the kubeconfig at path, or the files $KUBECONFIG
// lists in environ when path is empty, and returns its current context's
// client configuration.
func loadKubeconfig(path string, environ []string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: path}
	if path == "" {
		rules.Precedence = filepath.SplitList(lookupEnv(environ, "KUBECONFIG"))
		if len(rules.Precedence) == 0 {
			return nil, errors.New("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
		}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return cfg, nil
}

// lookupEnv returns the value of key's first entry in environ, "" when
// there is none.
func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// discoverServers asks base's server for the Raft group and returns each
// member's API URL. A member listed without its API address is an error:
// the benchmark would otherwise run against fewer servers than asked.
func discoverServers(ctx context.Context, base *rest.Config) ([]string, error) {
	cfg := rest.CopyConfig(base)
	cfg.QPS = -1
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", base.Host, err)
	}
	servers, err := raftServers(ctx, cs)
	if err != nil {
		return nil, fmt.Errorf("list the servers (or pass --servers): %w", err)
	}
	scheme := "http"
	if rest.IsConfigTransportTLS(*cfg) {
		scheme = "https"
	}
	if s, _, ok := strings.Cut(base.Host, "://"); ok {
		scheme = s
	}
	var urls []string
	for _, s := range servers {
		addr, err := apiHostPort(s)
		if err != nil {
			return nil, fmt.Errorf("server %s: %w (pass --servers)", s.ID, err)
		}
		urls = append(urls, scheme+"://"+addr)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%s lists no servers", base.Host)
	}
	return urls, nil
}

// raftServers asks cs's server for the members of the Raft group.
func raftServers(ctx context.Context, cs *kubernetes.Clientset) ([]raftServer, error) {
	ctx, cancel := context.WithTimeout(ctx, jsonTimeout)
	defer cancel()
	req := cs.Discovery().RESTClient().Get().AbsPath(operatorPath + "/raft")
	body, err := req.DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL(), err)
	}
	var resp struct {
		Servers []raftServer `json:"servers"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decode GET %s: %w", req.URL(), err)
	}
	return resp.Servers, nil
}

// leaderIndex returns the index of the leader's URL in urls, asking the
// servers in turn (clientsets[i] reaches urls[i]); 0 when no server says
// or the leader is not among urls.
func leaderIndex(ctx context.Context, urls []string, clientsets []*kubernetes.Clientset) int {
	for _, cs := range clientsets {
		servers, err := raftServers(ctx, cs)
		if err != nil {
			continue
		}
		for _, s := range servers {
			addr, err := apiHostPort(s)
			if !s.Leader || err != nil {
				continue
			}
			for i, u := range urls {
				if pu, err := url.Parse(u); err == nil && pu.Host == addr {
					return i
				}
			}
		}
		return 0
	}
	return 0
}

// apiHostPort returns where to reach s's API: its API address, with the
// host of its Raft address when it listens on all interfaces.
func apiHostPort(s raftServer) (string, error) {
	if s.APIAddress == "" {
		return "", errors.New("no api_address in the operator API's answer")
	}
	host, port, err := net.SplitHostPort(s.APIAddress)
	if err != nil {
		return "", fmt.Errorf("api_address %q: %w", s.APIAddress, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		raftHost, _, err := net.SplitHostPort(s.Address)
		if err != nil {
			return "", fmt.Errorf("api_address %q listens on all interfaces and raft address %q has no host: %w", s.APIAddress, s.Address, err)
		}
		host = raftHost
	}
	return net.JoinHostPort(host, port), nil
}

// benchClientset returns a clientset for host with base's credentials and
// CA, no client-side rate limit, and its own transport that keeps up to
// conns connections open. The caller closes the transport's idle
// connections when done.
func benchClientset(base *rest.Config, host string, conns int) (*kubernetes.Clientset, *http.Transport, error) {
	cfg := rest.CopyConfig(base)
	cfg.Host = host
	cfg.QPS = -1
	cfg.RateLimiter = nil
	tlsCfg, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS for %s: %w", host, err)
	}
	proxy := cfg.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	tr := &http.Transport{
		Proxy:               proxy,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	// client-go refuses TLS options beside a custom transport; they live
	// in tlsCfg now.
	cfg.Transport = tr
	cfg.TLSClientConfig = rest.TLSClientConfig{}
	cfg.Proxy = nil
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client for %s: %w", host, err)
	}
	return cs, tr, nil
}

// newRunID returns a random ID that names and labels a run's ConfigMaps.
func newRunID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("run id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
