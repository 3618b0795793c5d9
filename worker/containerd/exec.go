package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
)

// Exec runs cmd in the running container and returns its exit code.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	ctx = r.ns(ctx)
	c, err := r.c.LoadContainer(ctx, id)
	if err != nil {
		return 0, wrap(err)
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return 0, errNoTask
		}
		return 0, wrap(err)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return 0, wrap(err)
	}
	pspec := *spec.Process
	pspec.Args = cmd
	pspec.Terminal = false
	var b [8]byte
	rand.Read(b[:])
	execID := "exec-" + hex.EncodeToString(b[:])
	proc, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(cio.WithStreams(stdin, stdout, stderr)))
	if err != nil {
		return 0, fmt.Errorf("exec: %w", wrap(err))
	}
	defer proc.Delete(r.ns(context.Background()))
	exitCh, err := proc.Wait(ctx)
	if err != nil {
		return 0, wrap(err)
	}
	if err := proc.Start(ctx); err != nil {
		return 0, fmt.Errorf("exec start: %w", wrap(err))
	}
	select {
	case st := <-exitCh:
		return int(st.ExitCode()), nil
	case <-ctx.Done():
		proc.Kill(r.ns(context.Background()), 9)
		return 0, ctx.Err()
	}
}
