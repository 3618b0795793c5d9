package childproc

import (
	"os/exec"
	"runtime"
	"syscall"
)

// StartDying starts cmd so that it is SIGKILLed when this process dies,
// and waits for it in the background. It returns a channel closed after
// cmd has exited and been waited for; cmd.ProcessState then holds its
// status. It sets cmd.SysProcAttr.Pdeathsig, keeping other attributes.
// Do not call cmd.Wait yourself.
func StartDying(cmd *exec.Cmd) (<-chan struct{}, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// The thread stays locked, and so alive, while the child runs.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait() // the status is in cmd.ProcessState
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}
