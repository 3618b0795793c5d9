package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/server"
)

func newServerCmd(e env) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "server [--config server.yaml] [flags]",
		Short: "Run a control-plane server",
		Long: `Run a control-plane server: the API, one member of the Raft group that stores
the cluster state, and, on the leader, the scheduler and controllers.

Settings come from flags, then SKIFF_* environment variables (SKIFF_DATA_DIR,
SKIFF_RAFT_HEARTBEAT_TIMEOUT, ...), then the --config file, then defaults.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.LoadServer(configPath, cmd.Flags(), e.environ)
			if err != nil {
				return err
			}
			return runServer(cmd.Context(), e, cfg)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "server configuration file (YAML)")
	config.ServerFlags(cmd.Flags())
	return cmd
}

func newDevCmd(e env) *cobra.Command {
	var dataDir, logLevel string
	cmd := &cobra.Command{
		Use:   "dev [--data-dir DIR]",
		Short: "Run a single-server cluster for local development",
		Long: `Run a single-server cluster with the built-in development configuration:
name "dev", API on ` + config.DefaultAPIAddr + `, Raft on ` + config.DefaultRaftAddr + `, gossip on ` +
			config.DefaultGossipAddr + `,
bootstrapping alone. The server writes its token to DATA_DIR/token, where the
client commands find it when run from the same directory.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.DevServer()
			cfg.LogLevel = logLevel
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return fmt.Errorf("data dir: %w", err)
			}
			cfg.DataDir = dir
			if err := cfg.Validate(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "skiff dev: API at https://%s; kubeconfig %s once the server is up\n", cfg.APIAddr, filepath.Join(cfg.DataDir, server.AdminKubeconfig))
			fmt.Fprintf(e.stdout, "skiff dev: token file %s\n", cfg.TokenPath())
			if dataDir != config.DevDataDir {
				fmt.Fprintf(e.stdout, "skiff dev: for the client commands: export SKIFF_TOKEN=$(cat %s)\n", cfg.TokenPath())
			}
			return runServer(cmd.Context(), e, cfg)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", config.DevDataDir, "data directory")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// runServer runs a server until ctx is cancelled, logging to stderr at the
// configured level. A shutdown caused by ctx is a success.
//
// The logger handed to the server carries no component attribute: the server
// adds its name and each package beneath it adds its own component, so a line
// never holds two. This command's own lines say component=cmd.
func runServer(ctx context.Context, e env, cfg config.Server) error {
	base := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	log := base.With("component", "cmd", "server", cfg.Name)
	err := e.runServer(ctx, cfg, base)
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		log.Info("stopped", "cause", context.Cause(ctx))
		return nil
	}
	if err == nil {
		return errors.New("server stopped unexpectedly")
	}
	return err
}
