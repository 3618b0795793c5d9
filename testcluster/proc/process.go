package proc

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/skiffhq/skiff/internal/childproc"
)

// process is one run of a server or worker.
type process struct {
	cmd    *exec.Cmd
	log    *os.File
	exited chan struct{}
	err    error // set before exited is closed
	paused bool
}

// spawn starts cmd with its output appended to logPath after a banner
// line, and calls gone when the process has exited, before closing
// p.exited. The process dies with the test process, even when that is
// killed (childproc: the starting thread stays alive while it runs, so
// Pdeathsig fires only when the test process goes).
func spawn(cmd *exec.Cmd, logPath, banner string, gone func(*process)) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "==== start %s %s\n", time.Now().Format(time.RFC3339Nano), banner)
	cmd.Stdout, cmd.Stderr = logf, logf
	exited, err := childproc.StartDying(cmd)
	if err != nil {
		logf.Close()
		return nil, err
	}
	p := &process{cmd: cmd, log: logf, exited: make(chan struct{})}
	go func() {
		<-exited
		if !cmd.ProcessState.Success() {
			p.err = &exec.ExitError{ProcessState: cmd.ProcessState}
		}
		logf.Close()
		gone(p)
		close(p.exited)
	}()
	return p, nil
}

// stopGrace bounds how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 15 * time.Second

// stop sends p SIGTERM, as a service manager would, and waits for it to
// exit; after stopGrace it sends SIGKILL and reports that it had to.
func stop(p *process) error {
	if p == nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopGrace):
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	return fmt.Errorf("%s ignored SIGTERM for %s and was killed", p.cmd.Path, stopGrace)
}
