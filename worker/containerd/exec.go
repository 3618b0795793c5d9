package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"

	"github.com/skiffhq/skiff/worker"
)

// Exec runs req.Cmd in the running container id, with the container's
// process settings (user, environment, working directory), and returns
// its exit code after its output has been copied out.
func (r *Runtime) Exec(ctx context.Context, id string, req worker.ExecRequest) (int, error) {
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
	pspec.Args = req.Cmd
	pspec.Terminal = req.TTY
	var b [8]byte
	rand.Read(b[:])
	execID := "exec-" + hex.EncodeToString(b[:])

	// The shim keeps the command's stdin open until it is told to close
	// it (CloseIO), so the end of req.Stdin must be passed on: eof is
	// closed when cio has copied all of it.
	eof := make(chan struct{})
	var stdin io.Reader
	if req.Stdin != nil {
		stdin = &eofReader{r: req.Stdin, eof: eof}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, req.Stdout, req.Stderr)}
	if req.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	proc, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(opts...))
	if err != nil {
		return 0, fmt.Errorf("exec: %w", wrap(err))
	}
	// Delete waits for the output to be copied out.
	defer proc.Delete(r.ns(context.Background()), containerd.WithProcessKill)
	exitCh, err := proc.Wait(ctx)
	if err != nil {
		return 0, wrap(err)
	}
	if err := proc.Start(ctx); err != nil {
		return 0, fmt.Errorf("exec start: %w", wrap(err))
	}
	done := make(chan struct{})
	defer close(done)
	if req.Stdin != nil {
		go func() {
			select {
			case <-eof:
				proc.CloseIO(ctx, containerd.WithStdinCloser)
			case <-done:
			}
		}()
	}
	if req.TTY && req.Resize != nil {
		go func() {
			for {
				select {
				case sz, ok := <-req.Resize:
					if !ok {
						return
					}
					if err := proc.Resize(ctx, uint32(sz.Width), uint32(sz.Height)); err != nil {
						r.log.Debug("exec resize", "id", id, "exec", execID, "err", err)
					}
				case <-done:
					return
				}
			}
		}()
	}
	select {
	case st := <-exitCh:
		return int(st.ExitCode()), nil
	case <-ctx.Done():
		proc.Kill(r.ns(context.Background()), 9)
		return 0, ctx.Err()
	}
}

// eofReader closes eof, once, when r has been read to its end (or fails).
type eofReader struct {
	r    io.Reader
	eof  chan struct{}
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.eof) })
	}
	return n, err
}
