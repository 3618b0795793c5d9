package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	ctrd "github.com/containerd/containerd"
	"github.com/spf13/cobra"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/netproxy"
	"github.com/skiffhq/skiff/netproxy/routes"
	"github.com/skiffhq/skiff/worker"
	wcontainerd "github.com/skiffhq/skiff/worker/containerd"
)

func newWorkerCmd(e env) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "worker [--config worker.yaml] [flags]",
		Short: "Run a worker: the node agent that runs pods on containerd",
		Long: `Run a worker: join the cluster through gossip, register this machine as a
Node, and run the pods bound to it on containerd with CNI networking.

Settings come from flags, then SKIFF_* environment variables (SKIFF_TOKEN,
SKIFF_RESERVED_CPU, ...), then the --config file, then defaults. See
examples/worker.yaml for every key.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadWorker(configPath, cmd.Flags(), e.environ)
			if err != nil {
				return err
			}
			return runWorker(cmd.Context(), e, cfg)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "worker configuration file (YAML)")
	config.WorkerFlags(cmd.Flags())
	return cmd
}

// runWorker runs a worker until ctx is cancelled, logging to stderr. A
// shutdown caused by ctx is a success.
func runWorker(ctx context.Context, e env, cfg config.Worker) error {
	base := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	log := base.With("component", "cmd", "worker", cfg.Name)
	err := e.runWorker(ctx, cfg, base)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		log.Info("stopped", "cause", context.Cause(ctx))
		return nil
	}
	if err == nil {
		return errors.New("worker stopped unexpectedly")
	}
	return err
}

// startWorker runs a worker on the containerd at cfg.ContainerdSocket
// until ctx ends. Connecting is bounded: a containerd that is not there is
// an error within seconds, not a hang.
func startWorker(ctx context.Context, cfg config.Worker, log *slog.Logger) error {
	client, err := ctrd.New(cfg.ContainerdSocket, ctrd.WithDefaultNamespace(wcontainerd.Namespace), ctrd.WithTimeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("containerd_socket %s: %w", cfg.ContainerdSocket, err)
	}
	defer client.Close()
	rt, err := wcontainerd.New(wcontainerd.Options{
		Client: client, DataDir: cfg.DataDir, CNIBinDir: cfg.CNIBinDir, CNIConfDir: cfg.CNIConfPath(), Bridge: cfg.CNIBridge,
		InsecureRegistries: cfg.InsecureRegs, LogMaxSize: int64(cfg.LogMaxSize), Log: log,
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rt.ImportDir(ctx, filepath.Join(cfg.DataDir, "images")); err != nil {
		log.Warn("importing images from data_dir/images", "err", err)
	}
	w, err := worker.New(worker.Config{Worker: cfg, Runtime: rt, Log: log, Services: nodeServices(cfg, log)})
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// nodeServices are the node's networking beside its pods: the service
// proxy (ClusterIP and NodePort on nftables) and the pod routes to other
// nodes with egress masquerade, sharing one informer factory, and the
// node's cluster DNS server, which netproxy reaches through the kube-dns
// Service's endpoint for this node.
func nodeServices(cfg config.Worker, log *slog.Logger) []worker.Service {
	return []worker.Service{worker.ClusterDNSService(cfg, log), {
		Name: "netproxy",
		Run: func(ctx context.Context, client kubernetes.Interface, node worker.NodeInfo) error {
			var ips []netip.Addr
			if a, err := netip.ParseAddr(node.Address); err == nil {
				ips = append(ips, a)
			}
			f := informers.NewSharedInformerFactory(client, 0)
			px, err := netproxy.New(netproxy.Config{Informers: f, NodeName: node.Name, NodeIPs: ips, PodCIDR: cfg.PodCIDR, Log: log})
			if err != nil {
				return err
			}
			rt, err := routes.New(routes.Config{Informers: f, NodeName: node.Name, ClusterCIDR: cfg.PodCIDR, Log: log})
			if err != nil {
				return err
			}
			errs := make(chan error, 2)
			go func() { errs <- fmt.Errorf("netproxy: %w", px.Run(ctx)) }()
			go func() { errs <- fmt.Errorf("pod routes: %w", rt.Run(ctx)) }()
			first := <-errs
			if ctx.Err() != nil {
				<-errs
				return nil
			}
			return first
		},
	}}
}
