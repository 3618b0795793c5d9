package proc

import (
	"os"
	"testing"

	"github.com/skiffhq/skiff/internal/netsim"
)

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
