package netproxy

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/skiffhq/skiff/internal/netns"
)

// needNetns returns a fresh network namespace or skips the test (fails
// it when SKIFF_REQUIRE_WORKER=1).
func needNetns(t testing.TB) *netns.NS {
	t.Helper()
	if err := netns.Supported(); err != nil {
		if os.Getenv("SKIFF_REQUIRE_WORKER") == "1" {
			t.Fatalf("SKIFF_REQUIRE_WORKER=1 but network namespaces are unavailable: %v", err)
		}
		t.Skipf("skipping kernel data-plane test: %v", err)
	}
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// nftList prints the table with the nft tool when it is installed, for
// failure messages.
func nftList(ns *netns.NS) string {
	out, err := exec.Command("nsenter", "--net="+ns.Path(), "nft", "list", "table", "ip", TableName).CombinedOutput()
	if err != nil {
		return "(nft list: " + err.Error() + ") " + string(out)
	}
	return string(out)
}

func TestApplyReadBackIsIdempotent(t *testing.T) {
	ns := needNetns(t)
	tb, err := openTable(ns.Fd())
	if err != nil {
		t.Fatal(err)
	}
	defer tb.close()
	cidr := netip.MustParsePrefix("10.244.0.0/16")
	a := ep{"10.244.1.5", "node-a", true}
	b := ep{"10.244.2.7", "node-b", true}
	steps := []struct {
		name   string
		svcs   []*v1.Service
		slices []*discoveryv1.EndpointSlice
	}{
		{"all kinds", []*v1.Service{
			svc("default", "web", "10.96.0.10", nodePort(30080), etpLocal, affinity),
			svc("default", "int", "10.96.0.11", nodePort(30081), itpLocal),
			svc("default", "none", "10.96.0.12", nodePort(30082)),
		}, []*discoveryv1.EndpointSlice{
			slice("default", "web", "w1", 8080, a, b),
			slice("default", "int", "i1", 8080, a, b),
		}},
		{"endpoint replaced", []*v1.Service{
			svc("default", "web", "10.96.0.10", nodePort(30080), etpLocal, affinity),
			svc("default", "int", "10.96.0.11", nodePort(30081), itpLocal),
			svc("default", "none", "10.96.0.12", nodePort(30082)),
		}, []*discoveryv1.EndpointSlice{
			slice("default", "web", "w1", 8080, a, ep{"10.244.2.8", "node-b", true}),
			slice("default", "int", "i1", 8080, a, b),
		}},
		{"service gone", []*v1.Service{svc("default", "none", "10.96.0.12")}, nil},
	}
	have := NewModel()
	for i, st := range steps {
		want := Generate(Translate(st.svcs, st.slices, "node-a"), NodeInfo{PodCIDR: cidr})
		stats, err := tb.apply(Diff(have, want), want, i == 0)
		if err != nil {
			t.Fatalf("%s: apply: %v", st.name, err)
		}
		t.Logf("%s: %+v", st.name, stats)
		got, exists, err := tb.read()
		if err != nil || !exists {
			t.Fatalf("%s: read back: exists=%v err=%v", st.name, exists, err)
		}
		if p := Diff(got, want); !p.Empty() {
			t.Fatalf("%s: table read back differs from the model: %+v\n%s", st.name, p, nftList(ns))
		}
		have = want
	}
	if out := nftList(ns); !strings.Contains(out, "10.96.0.12") {
		t.Logf("nft list: %s", out)
	}
	if err := tb.remove(); err != nil {
		t.Fatal(err)
	}
	if _, exists, _ := tb.read(); exists {
		t.Fatal("table still exists after remove")
	}
}
