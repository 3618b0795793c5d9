package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	ctrd "github.com/containerd/containerd"
	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/internal/containerdproc"
	"github.com/skiffhq/skiff/server"
)

// devOptions are the flags of skiff dev beyond the server's.
type devOptions struct {
	dataDir, logLevel string
	// containerdSocket is a containerd to use; empty means the system's
	// when it answers, else a private one under the data directory.
	containerdSocket string
	noWorker         bool
}

func newDevCmd(e env) *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev [--data-dir DIR] [--containerd-socket S] [--no-worker]",
		Short: "Run a one-machine cluster for local development: a server and a worker",
		Long: `Run a one-machine cluster: one server (single-voter Raft) with the scheduler and
controllers, and one worker, node "dev-worker", that runs pods on containerd.

The server uses the built-in development configuration: API on ` + config.DefaultAPIAddr + `, Raft on ` +
			config.DefaultRaftAddr + `, gossip on ` + config.DefaultGossipAddr + `. It writes its token,
CA and an admin kubeconfig into the data directory, where the client commands
find them when run from the same directory.

The worker uses the containerd answering on ` + config.DefaultContainerdSocket + `, or, when none
does, starts one of its own with root, state and socket under DATA_DIR/containerd
(stopped on exit; its containers are adopted at the next start). Running pods
needs root.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.DevServer()
			cfg.LogLevel = o.logLevel
			dir, err := filepath.Abs(o.dataDir)
			if err != nil {
				return fmt.Errorf("data dir: %w", err)
			}
			cfg.DataDir = dir
			if err := cfg.Validate(); err != nil {
				return err
			}
			return runDev(cmd.Context(), e, cfg, o)
		},
	}
	cmd.Flags().StringVar(&o.dataDir, "data-dir", config.DevDataDir, "data directory")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().StringVar(&o.containerdSocket, "containerd-socket", "", "containerd socket for the worker (default: the system's if it answers, else a private containerd)")
	cmd.Flags().BoolVar(&o.noWorker, "no-worker", false, "run the server only")
	return cmd
}

// runDev runs the server and, unless told not to, a worker beside it, until
// ctx ends or either fails.
func runDev(ctx context.Context, e env, cfg config.Server, o devOptions) error {
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()})).With("component", "cmd", "dev", cfg.Name)
	fmt.Fprintf(e.stdout, "skiff dev: API at https://%s, data in %s\n", cfg.APIAddr, cfg.DataDir)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- runServer(ctx, e, cfg) }()
	if o.noWorker {
		printNextSteps(e, cfg, false)
		return <-done
	}
	token, err := waitForToken(ctx, cfg.TokenPath(), done)
	if err != nil {
		if ctx.Err() != nil {
			// Stopped (Ctrl-C) before the server was up.
			return <-done
		}
		cancel()
		return err
	}
	sock, stop, err := devContainerd(ctx, o.containerdSocket, cfg.DataDir, log)
	if err != nil {
		cancel()
		return errors.Join(fmt.Errorf("the worker needs containerd: %w (run `skiff dev --no-worker` for the control plane alone)", err), <-done)
	}
	defer stop()
	wcfg := devWorker(cfg, token, sock)
	go func() { done <- runWorker(ctx, e, wcfg) }()
	printNextSteps(e, cfg, true)
	first := <-done
	cancel()
	second := <-done
	if ctx.Err() != nil && first == nil && second == nil {
		return nil
	}
	return errors.Join(first, second)
}

// devWorker is the worker of skiff dev: named "dev", joining the dev
// server's gossip on loopback, its data under the server's data directory.
func devWorker(cfg config.Server, token, socket string) config.Worker {
	w := config.DefaultWorker()
	// Not "dev": the server has that name in gossip, where names are unique.
	w.Name = "dev-worker"
	w.DataDir = filepath.Join(cfg.DataDir, "worker")
	w.Join = []string{cfg.GossipAddr}
	w.Token = token
	w.CAFile = "" // the first registration trusts the server gossip names
	w.ContainerdSocket = socket
	w.GossipAddr = "127.0.0.1:7947"
	w.ListenAddr = "127.0.0.1:10250"
	w.Address = "127.0.0.1"
	w.LogLevel = cfg.LogLevel
	// The worker's copy of the address plan must be the server's: pods
	// resolve through the kube-dns Service the leader keeps at cluster_dns.
	w.PodCIDR, w.ClusterDNS, w.ClusterDomain = cfg.Network.PodCIDR, cfg.Network.ClusterDNS, cfg.Network.ClusterDomain
	return w
}

// waitForToken returns the cluster token once the server has written it
// (the server creates it before it listens), or the server's error.
func waitForToken(ctx context.Context, path string, serverDone <-chan error) (string, error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			if tok := strings.TrimSpace(string(b)); len(tok) >= config.MinTokenLen {
				return tok, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case err := <-serverDone:
			if err == nil {
				err = errors.New("the server stopped before writing its token")
			}
			return "", fmt.Errorf("server: %w", err)
		case <-t.C:
		}
	}
}

// devContainerd returns the socket of the containerd the dev worker uses
// and a func that stops it if skiff dev started it: the socket asked for,
// else the system's if it answers, else a private containerd under
// dataDir/containerd.
func devContainerd(ctx context.Context, socket, dataDir string, log *slog.Logger) (string, func(), error) {
	if socket != "" {
		return socket, func() {}, nil
	}
	if answers(ctx, config.DefaultContainerdSocket) {
		log.Info("using the system containerd", "socket", config.DefaultContainerdSocket)
		return config.DefaultContainerdSocket, func() {}, nil
	}
	dir := filepath.Join(dataDir, "containerd")
	if len(dir) > 80 {
		// A unix socket path must fit in 108 bytes.
		dir = filepath.Join(os.TempDir(), "skiff-dev-containerd")
	}
	d, err := containerdproc.Start(containerdproc.Options{Dir: dir})
	if err != nil {
		return "", nil, err
	}
	log.Info("started a private containerd", "socket", d.Address, "log", d.LogPath())
	return d.Address, func() {
		if err := d.Stop(); err != nil {
			log.Warn("stopping containerd", "error", err)
		}
	}, nil
}

// answers reports whether a containerd answers on socket within a second.
func answers(ctx context.Context, socket string) bool {
	if _, err := os.Stat(socket); err != nil {
		return false
	}
	c, err := ctrd.New(socket, ctrd.WithTimeout(time.Second))
	if err != nil {
		return false
	}
	defer c.Close()
	vctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = c.Version(vctx)
	return err == nil
}

// printNextSteps tells a newcomer what to do once the cluster is up.
func printNextSteps(e env, cfg config.Server, worker bool) {
	kc := filepath.Join(cfg.DataDir, server.AdminKubeconfig)
	fmt.Fprintf(e.stdout, "skiff dev: kubeconfig %s (written once the server is up); token %s\n", kc, cfg.TokenPath())
	fmt.Fprintln(e.stdout, "skiff dev: next, in another terminal from this directory:")
	if worker {
		fmt.Fprintln(e.stdout, "  # the demo image: make run puts it in DATA_DIR/worker/images/, which the worker imports at start")
		fmt.Fprintln(e.stdout, "  bin/skiff apply -f examples/demo/deployment.yaml --wait")
		fmt.Fprintln(e.stdout, "  bin/skiff get pods -o wide")
	}
	fmt.Fprintf(e.stdout, "  KUBECONFIG=%s kubectl get nodes\n", kc)
	fmt.Fprintln(e.stdout, "  bin/skiff dashboard                                            # a sign-in link for the dashboard")
}
