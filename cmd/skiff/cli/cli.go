package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/server"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// env is what a command may use from the process. Tests build their own.
type env struct {
	stdin          io.Reader // nil reads as empty
	stdout, stderr io.Writer
	environ        []string // like os.Environ()
	// runServer runs a server until ctx ends; it is server.Run outside tests.
	runServer func(ctx context.Context, cfg config.Server, log *slog.Logger) error
	// runWorker runs a worker until ctx ends; it is startWorker outside tests.
	runWorker func(ctx context.Context, cfg config.Worker, log *slog.Logger) error
}

// Run runs the skiff command line with args (without the program name) and
// returns the process exit code: 0 on success, 1 when the command failed,
// 2 for a usage error, and for exec the remote command's exit code.
// SIGINT and SIGTERM cancel the running command.
func Run(args []string, stdout, stderr io.Writer) int {
	quietKlog(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, env{
		stdin:     os.Stdin,
		stdout:    stdout,
		stderr:    stderr,
		environ:   os.Environ(),
		runServer: server.Run,
		runWorker: startWorker,
	})
}

func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(e.stderr, "skiff: %v\n", err)
	if code, ok := exitCodeOf(err); ok {
		// skiff exec ends as the remote command did, as kubectl exec does.
		return code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "Run 'skiff %s --help' for usage.\n", ue.cmd)
		return 2
	}
	return 1
}

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "skiff",
		Short: "Skiff is a container orchestrator with its cluster store built in",
		// Errors are printed once, by run, with the "skiff:" prefix.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{cmd: c.Name(), err: err}
	})
	root.AddCommand(
		newServerCmd(e),
		newDevCmd(e),
		newWorkerCmd(e),
		newVersionCmd(e),
		newClusterCmd(e),
		newSnapshotCmd(e),
		newTokenCmd(e),
		newBenchCmd(e),
		newDashboardCmd(e),
		newImageCmd(e),
		newApplyCmd(e),
		newRunCmd(e),
		newGetCmd(e),
		newDescribeCmd(e),
		newDeleteCmd(e),
		newScaleCmd(e),
		newSetCmd(e),
		newRolloutCmd(e),
		newEventsCmd(e),
		newLogsCmd(e),
		newExecCmd(e),
		newNodeCmd(e),
		newTopCmd(e),
		newCompletionCmd(e),
	)
	return root
}

// usageError is a mistake in the command line rather than a failure.
type usageError struct {
	cmd string
	err error
}

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exactArgs is cobra.ExactArgs returning a usageError.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{cmd: c.Name(), err: fmt.Errorf("%s takes %d argument(s), got %d", c.CommandPath(), n, len(args))}
		}
		return nil
	}
}

// maxArgs is cobra.MaximumNArgs returning a usageError.
func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError{cmd: c.Name(), err: fmt.Errorf("%s takes at most %d argument(s), got %d", c.CommandPath(), n, len(args))}
		}
		return nil
	}
}

// quietKlog silences klog, through which client-go reports some failures
// on stderr as well as in the errors it returns, so that the user sees each
// once, from skiff; --v asks for the requests instead. It sets process-wide
// state, so it runs once, here, before anything else starts.
func quietKlog(args []string) {
	for _, a := range args {
		if strings.HasPrefix(a, "--v=") || strings.HasPrefix(a, "-v=") {
			return
		}
	}
	klog.SetLogger(logr.Discard())
}
