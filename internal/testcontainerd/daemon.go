package testcontainerd

import (
	"os"
	"testing"

	"github.com/skiffhq/skiff/internal/containerdproc"
)

// RequireEnv names the environment variable that turns a skip into a
// failure: CI sets it so the worker's tests cannot pass by not running.
const RequireEnv = "SKIFF_REQUIRE_WORKER"

// Daemon is one private containerd for a test (see containerdproc.Daemon
// for its fields). A Daemon is used by one test goroutine at a time:
// Restart and the cleanup must not run concurrently with each other.
type Daemon struct {
	*containerdproc.Daemon
}

// Option configures Start.
type Option func(*containerdproc.Options)

// WithNetNS runs the daemon inside the network namespace at path (a
// /run/netns/NAME file), entering only the network namespace.
func WithNetNS(path string) Option { return func(o *containerdproc.Options) { o.NetNS = path } }

// Available reports whether a daemon can run here, and if not, why.
func Available() error { return containerdproc.Available() }

// SkipUnlessAvailable skips t when Available fails, or fails it when
// SKIFF_REQUIRE_WORKER=1.
func SkipUnlessAvailable(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("testcontainerd: %v, and %s=1 forbids skipping", err, RequireEnv)
		}
		t.Skipf("testcontainerd: %v; skipping (set %s=1 to fail instead)", err, RequireEnv)
	}
}

// Start starts a private containerd, waits until it answers, and returns
// it with a connected client. The cleanup kills every task the daemon
// still runs, stops the daemon and removes its directories; when the test
// failed it logs the tail of the daemon's log.
func Start(t testing.TB, opts ...Option) *Daemon {
	t.Helper()
	SkipUnlessAvailable(t)
	// A short directory: the grpc socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "ctd-")
	if err != nil {
		t.Fatalf("testcontainerd: %v", err)
	}
	o := containerdproc.Options{Dir: dir}
	for _, opt := range opts {
		opt(&o)
	}
	pd, err := containerdproc.Start(o)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("testcontainerd: %v", err)
	}
	d := &Daemon{pd}
	t.Cleanup(func() { d.cleanup(t) })
	return d
}

// Restart stops the daemon with SIGTERM, as a service manager would, and
// starts it again on the same config, root and state. Running tasks
// survive. Call Client again afterwards: the old client is closed.
func (d *Daemon) Restart(t testing.TB) {
	t.Helper()
	if err := d.Daemon.Restart(); err != nil {
		t.Fatalf("testcontainerd: restart: %v\n%s", err, d.LogTail())
	}
}
