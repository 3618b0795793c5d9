package cli

import (
	"context"
	"errors"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/config"
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
