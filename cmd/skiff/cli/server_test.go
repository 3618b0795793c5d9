package cli

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffhq/skiff/config"
)

func TestServerCommand(t *testing.T) {
	dataDir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(cfgFile, []byte("name: s1\napi_addr: 127.0.0.1:0\nraft_addr: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got config.Server
	r := runCLIWithServer(t, ctx, []string{"SKIFF_DATA_DIR=" + dataDir, "SKIFF_LOG_LEVEL=warn"},
		func(ctx context.Context, cfg config.Server, log *slog.Logger) error {
			got = cfg
			log.Info("info line")
			log.Warn("warn line")
			cancel() // as SIGTERM would
			<-ctx.Done()
			return ctx.Err()
		},
		"server", "--config", cfgFile, "--gossip-addr", "127.0.0.1:0", "--log-level", "info")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got.Name != "s1" || got.DataDir != dataDir || got.APIAddr != "127.0.0.1:0" || got.GossipAddr != "127.0.0.1:0" || got.LogLevel != "info" {
		t.Errorf("server got %+v", got)
	}
	if !strings.Contains(r.stderr, "info line") || !strings.Contains(r.stderr, "warn line") {
		t.Errorf("stderr %q: want both lines, --log-level info overriding SKIFF_LOG_LEVEL=warn", r.stderr)
	}
	if !strings.Contains(r.stderr, "component=cmd") {
		t.Errorf("stderr %q: want the command's own lines tagged component=cmd", r.stderr)
	}
}

func TestServerCommandLogLevel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := runCLIWithServer(t, ctx, nil, func(ctx context.Context, _ config.Server, log *slog.Logger) error {
		log.Info("hidden")
		log.Error("shown")
		cancel()
		return nil
	}, "server", "--name", "s1", "--data-dir", t.TempDir(), "--log-level", "error")
	if r.code != 0 || strings.Contains(r.stderr, "hidden") || !strings.Contains(r.stderr, "shown") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestServerCommandFailures(t *testing.T) {
	badFile := filepath.Join(t.TempDir(), "server.yaml")
	if err := os.WriteFile(badFile, []byte("raft_adr: 127.0.0.1:7001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		serverErr error
		want      string
	}{
		{"unknown key", []string{"server", "--config", badFile}, nil, `skiff: config ` + badFile + `: unknown key "raft_adr"`},
		{"invalid flag value", []string{"server", "--name", "s1", "--data-dir", "/x", "--api-addr", "127.0.0.1"}, nil,
			`skiff: api_addr "127.0.0.1": missing port`},
		{"server fails", []string{"server", "--name", "s1", "--data-dir", "/x"}, errors.New("bind: address in use"),
			"skiff: bind: address in use"},
		{"server returns early", []string{"server", "--name", "s1", "--data-dir", "/x"}, nil,
			"skiff: server stopped unexpectedly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLIWithServer(t, context.Background(), nil, func(context.Context, config.Server, *slog.Logger) error {
				return tt.serverErr
			}, tt.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestDevCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got config.Server
	r := runCLIWithServer(t, ctx, []string{"SKIFF_API_ADDR=0.0.0.0:1"}, func(ctx context.Context, cfg config.Server, _ *slog.Logger) error {
		got = cfg
		cancel()
		return nil
	}, "dev", "--data-dir", dir, "--no-worker")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := config.DevServer()
	want.DataDir = dir
	if got.Name != want.Name || got.DataDir != dir || got.APIAddr != config.DefaultAPIAddr || got.BootstrapExpect != 1 {
		t.Errorf("dev server config %+v, want %+v (the environment must not change it)", got, want)
	}
	for _, line := range []string{"API at https://127.0.0.1:7443", "token " + filepath.Join(dir, "token")} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout %q lacks %q", r.stdout, line)
		}
	}
}

// TestDevCommandRunsAWorker checks that skiff dev starts a worker once the
// server has written its token, configured to join that server.
func TestDevCommandRunsAWorker(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got config.Worker
	e := env{
		runServer: func(ctx context.Context, cfg config.Server, _ *slog.Logger) error {
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return err
			}
			if err := os.WriteFile(cfg.TokenPath(), []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		},
		runWorker: func(ctx context.Context, cfg config.Worker, _ *slog.Logger) error {
			got = cfg
			cancel()
			return nil
		},
	}
	r := runEnv(ctx, e, "dev", "--data-dir", dir, "--containerd-socket", "/run/test/containerd.sock")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got.Name != "dev-worker" || got.Token != "0123456789abcdef0123456789abcdef" || got.ContainerdSocket != "/run/test/containerd.sock" ||
		got.DataDir != filepath.Join(dir, "worker") || len(got.Join) != 1 || got.Join[0] != config.DefaultGossipAddr {
		t.Fatalf("dev worker config %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("dev worker config does not validate: %v", err)
	}
	if n := config.DevServer().Network; got.ClusterDNS != n.ClusterDNS || got.ClusterDomain != n.ClusterDomain || got.PodCIDR != n.PodCIDR {
		t.Errorf("dev worker's cluster_dns %v, cluster_domain %q, pod_cidr %v: not the server's %+v", got.ClusterDNS, got.ClusterDomain, got.PodCIDR, n)
	}
	if !strings.Contains(r.stdout, "skiff apply -f examples/demo/deployment.yaml") {
		t.Errorf("stdout %q does not say how to deploy the demo", r.stdout)
	}
}

func TestVersionCommand(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "skiff v") || !strings.Contains(r.stdout, "go1.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
