package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/server"
)

// kube holds what every Kubernetes API command shares: the kubeconfig
// flags of cli-runtime (--kubeconfig, --context, -n, --server, --token,
// ...), --v, and the clients built from them on first use. It implements
// genericclioptions.RESTClientGetter for cli-runtime's resource builder
// and kubectl's helper libraries.
type kube struct {
	e       env
	flags   *genericclioptions.ConfigFlags
	verbose int

	cfg    *rest.Config
	disc   discovery.CachedDiscoveryInterface
	mapper meta.RESTMapper
	cs     kubernetes.Interface
	dyn    dynamic.Interface
}

var _ genericclioptions.RESTClientGetter = (*kube)(nil)

// addKubeFlags registers the kubeconfig flags on cmd (persistent, so its
// subcommands share them) and returns the kube its RunE uses.
func addKubeFlags(cmd *cobra.Command, e env) *kube {
	k := &kube{e: e, flags: genericclioptions.NewConfigFlags(true)}
	k.flags.AddFlags(cmd.PersistentFlags())
	cmd.PersistentFlags().IntVar(&k.verbose, "v", 0, "log level: 6 shows each request, 8 their response bodies too")
	return k
}

// defaultKubeconfig picks the kubeconfig when no flag names one:
// $KUBECONFIG, then ~/.kube/config, then the one `skiff dev` writes
// (.skiff/dev/admin.kubeconfig) when run from where skiff dev ran.
func (k *kube) defaultKubeconfig() {
	if *k.flags.KubeConfig != "" || *k.flags.APIServer != "" {
		return
	}
	if v := lookupEnv(k.e.environ, clientcmd.RecommendedConfigPathEnvVar); v != "" {
		if !strings.Contains(v, string(os.PathListSeparator)) {
			*k.flags.KubeConfig = v
		}
		return
	}
	if home := lookupEnv(k.e.environ, "HOME"); home != "" {
		if _, err := os.Stat(filepath.Join(home, ".kube", "config")); err == nil {
			*k.flags.KubeConfig = filepath.Join(home, ".kube", "config")
			return
		}
	}
	dev := filepath.Join(config.DevDataDir, server.AdminKubeconfig)
	if _, err := os.Stat(dev); err == nil {
		*k.flags.KubeConfig = dev
	}
}

// ToRESTConfig returns the client configuration, with request logging
// when --v asks for it.
func (k *kube) ToRESTConfig() (*rest.Config, error) {
	if k.cfg != nil {
		return k.cfg, nil
	}
	k.defaultKubeconfig()
	noConfig := errors.New("no cluster configured: pass --kubeconfig, set KUBECONFIG, or --server with --token (skiff dev writes " + filepath.Join(config.DevDataDir, server.AdminKubeconfig) + ")")
	if *k.flags.KubeConfig == "" && *k.flags.APIServer == "" {
		// client-go would fall back to http://localhost:8080.
		return nil, noConfig
	}
	cfg, err := k.flags.ToRESTConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, noConfig
		}
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	// The server names a writer without fieldManager after this.
	cfg.UserAgent = "skiff"
	if k.verbose >= 6 {
		w := k.e.stderr
		verbose := k.verbose
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &logTransport{rt: rt, w: w, bodies: verbose >= 8} })
	}
	k.cfg = cfg
	return cfg, nil
}

// ToDiscoveryClient returns a discovery client cached in memory for the
// command's lifetime (no disk cache to go stale between runs).
func (k *kube) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	if k.disc != nil {
		return k.disc, nil
	}
	cfg, err := k.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	k.disc = memory.NewMemCacheClient(dc)
	return k.disc, nil
}

// ToRESTMapper maps kinds, plurals and short names (deploy, svc) to
// resources through discovery.
func (k *kube) ToRESTMapper() (meta.RESTMapper, error) {
	if k.mapper != nil {
		return k.mapper, nil
	}
	dc, err := k.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	k.mapper = restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(dc), dc, nil)
	return k.mapper, nil
}

func (k *kube) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	k.defaultKubeconfig()
	return k.flags.ToRawKubeConfigLoader()
}

// clientset returns the typed client.
func (k *kube) clientset() (kubernetes.Interface, error) {
	if k.cs != nil {
		return k.cs, nil
	}
	cfg, err := k.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	k.cs = cs
	return cs, nil
}

// dynamicClient returns the untyped client.
func (k *kube) dynamicClient() (dynamic.Interface, error) {
	if k.dyn != nil {
		return k.dyn, nil
	}
	cfg, err := k.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	k.dyn = d
	return d, nil
}

// namespace returns the namespace the command works in: -n, else the
// kubeconfig context's, else "default"; explicit reports whether -n or
// the context named it.
func (k *kube) namespace() (ns string, explicit bool, err error) {
	ns, explicit, err = k.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", false, fmt.Errorf("kubeconfig: %w", err)
	}
	return ns, explicit, nil
}

// builder returns cli-runtime's resource builder over the cluster.
func (k *kube) builder() *resource.Builder {
	return resource.NewBuilder(k)
}

// userError rewrites an error of a Kubernetes API command in the user's
// terms: which servers could not be reached, or what the server said.
func (k *kube) userError(err error) error {
	if err == nil {
		return nil
	}
	var ue usageError
	if errors.As(err, &ue) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	var netErr *net.OpError
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) && !errors.Is(err, context.DeadlineExceeded) {
		servers := "the configured server"
		if k.cfg != nil {
			servers = k.cfg.Host
		}
		reason := err.Error()
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			reason = "connection refused"
		case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
			reason = "host unreachable"
		case netErr != nil:
			reason = netErr.Err.Error()
		}
		return fmt.Errorf("no route to any server; tried %s (%s)", servers, reason)
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		if st.Reason != "" {
			return fmt.Errorf("server said (%s): %s", st.Reason, st.Message)
		}
	}
	return err
}

// kubeRunE wraps a command's work so its errors read in user terms.
func (k *kube) run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		return k.userError(fn(cmd, args))
	}
}

// logTransport prints each request as --v=6 and up asks: method, URL,
// status and duration, and with bodies at 8. Requests run concurrently
// (discovery fetches every group at once), so lines are written under mu.
type logTransport struct {
	rt     http.RoundTripper
	w      io.Writer
	bodies bool
	mu     sync.Mutex
}

// printf writes one log line.
func (t *logTransport) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format, args...)
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		t.printf("%s %s: %v after %v\n", req.Method, req.URL, err, time.Since(start).Round(time.Millisecond))
		return resp, err
	}
	t.printf("%s %s %s in %v\n", req.Method, req.URL, resp.Status, time.Since(start).Round(time.Millisecond))
	if t.bodies && resp.Body != nil && !strings.Contains(req.URL.RawQuery, "watch=true") && !strings.Contains(req.URL.RawQuery, "follow=true") {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		t.printf("Response Body: %s\n", strings.TrimSpace(string(b)))
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	return resp, nil
}
