package childproc

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestChildOutlivesTheStartingThread starts a child from a goroutine that
// then exits locked to its thread, so the runtime destroys that thread.
// Forked from it with a plain Pdeathsig the child is killed at once;
// started with StartDying it must keep running.
func TestChildOutlivesTheStartingThread(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	var exited <-chan struct{}
	var err error
	// The runtime never destroys the main thread (it parks it), so the
	// start must happen on another one: a goroutine that finds itself on
	// the main thread leaves it locked, parked for good, and tries again.
	for started := false; !started; {
		done := make(chan bool)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			if syscall.Gettid() == syscall.Getpid() {
				done <- false
				return
			}
			exited, err = StartDying(cmd)
			done <- true
		}()
		started = <-done
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	// A negative check: a killed child is reaped within milliseconds, so
	// half a second without an exit means it survived.
	select {
	case <-exited:
		t.Fatalf("child died with the thread that started it: %v", cmd.ProcessState)
	case <-time.After(500 * time.Millisecond):
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("child not running: %v", err)
	}
}

func TestStartError(t *testing.T) {
	if _, err := StartDying(exec.Command("/nonexistent/binary")); err == nil {
		t.Fatal("starting a missing binary succeeded")
	}
}
