package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/skiffhq/skiff/internal/containerdproc"
	"github.com/skiffhq/skiff/internal/netsim"
)

// cniBinDir is where the workers find the CNI plugins (Debian's
// containernetworking-plugins).
const cniBinDir = "/usr/lib/cni"

// SkipUnlessSupported skips a test that needs network namespaces and TAP
// devices where they are missing, unless SKIFF_REQUIRE_FAULTS is set (CI
// sets it), which makes their absence a failure.
func SkipUnlessSupported(t testing.TB) {
	t.Helper()
	if err := netsim.Supported(); err != nil {
		if os.Getenv("SKIFF_REQUIRE_FAULTS") != "" {
			t.Fatalf("SKIFF_REQUIRE_FAULTS is set: %v", err)
		}
		t.Skip(err)
	}
}

// SkipUnlessWorkers skips a test that runs workers where their needs are
// missing (network namespaces and TAP devices, containerd and runc, the
// CNI plugins, nsenter), unless SKIFF_REQUIRE_WORKER=1 (CI sets it),
// which makes their absence a failure.
func SkipUnlessWorkers(t testing.TB) {
	t.Helper()
	if err := workersSupported(); err != nil {
		if os.Getenv("SKIFF_REQUIRE_WORKER") == "1" {
			t.Fatalf("SKIFF_REQUIRE_WORKER=1 forbids skipping: %v", err)
		}
		t.Skipf("%v; skipping (set SKIFF_REQUIRE_WORKER=1 to fail instead)", err)
	}
}

func workersSupported() error {
	if err := netsim.Supported(); err != nil {
		return err
	}
	if err := containerdproc.Available(); err != nil {
		return err
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join(cniBinDir, p)); err != nil {
			return fmt.Errorf("CNI plugin %s missing in %s (apt-get install containernetworking-plugins): %w", p, cniBinDir, err)
		}
	}
	for _, bin := range []string{"nsenter", "sysctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("%s not found: %w", bin, err)
		}
	}
	return nil
}
