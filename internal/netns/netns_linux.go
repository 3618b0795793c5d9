package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// NS is a network namespace held open by a file descriptor.
type NS struct {
	f *os.File
}

// Supported reports why namespaces cannot be made here, or nil.
func Supported() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	ns, err := New()
	if err != nil {
		return err
	}
	return ns.Close()
}

// New makes an empty network namespace (only a down loopback) and brings
// its loopback up.
func New() (*NS, error) {
	var ns *NS
	err := onThread(func() error {
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		defer self.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare network namespace: %w", err)
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		back := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET)
		if err != nil {
			return errors.Join(err, back)
		}
		if back != nil {
			// The thread is stuck in the new namespace; onThread does
			// not unlock it, so the runtime retires it.
			f.Close()
			return fmt.Errorf("return to namespace: %w", back)
		}
		ns = &NS{f: f}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := ns.Do(func() error { return setLinkUp("lo") }); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// Open holds the existing namespace at path (a /run/netns/NAME file, or
// /proc/PID/ns/net) open, so Do can run code inside it. Close releases
// the handle, not the namespace.
func Open(path string) (*NS, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	return &NS{f: f}, nil
}

// Fd is the namespace's file descriptor, valid until Close.
func (n *NS) Fd() int { return int(n.f.Fd()) }

// Path is a path naming the namespace for nsenter --net and setns.
func (n *NS) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.Fd()) }

// Close releases the namespace; it disappears with its last user.
func (n *NS) Close() error { return n.f.Close() }

// Do runs f on an OS thread inside the namespace and returns its error.
// Sockets f opens stay in the namespace after Do returns.
func (n *NS) Do(f func() error) error {
	return onThread(func() error {
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			return err
		}
		defer self.Close()
		if err := unix.Setns(n.Fd(), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter namespace: %w", err)
		}
		ferr := f()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			return errors.Join(ferr, errLeaked)
		}
		return ferr
	})
}

var errLeaked = errors.New("could not leave the namespace")

// onThread runs f on a locked OS thread in a fresh goroutine. The thread
// is unlocked (returned to the runtime) only if f did not leave it in
// another namespace.
func onThread(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := f()
		if !errors.Is(err, errLeaked) {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// Sysctl writes value to /proc/sys/<key> inside the namespace (net.*
// keys are per namespace).
func (n *NS) Sysctl(key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	return n.Do(func() error { return os.WriteFile(path, []byte(value), 0o644) })
}
