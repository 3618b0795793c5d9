package clusterdns

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
)

func TestNodeAddr(t *testing.T) {
	for _, tt := range []struct{ cidr, want, err string }{
		{"10.244.3.0/24", "10.244.3.1", ""},
		{"10.244.3.7/24", "10.244.3.1", ""}, // host bits are ignored
		{"198.18.0.0/30", "198.18.0.1", ""},
		{"fd00:10:0:3::/64", "fd00:10:0:3::1", ""},
		{"10.0.0.0/31", "", "too small"},
		{"", "", "pod CIDR"},
		{"10.0.0.1", "", "pod CIDR"},
	} {
		got, err := NodeAddr(tt.cidr)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("NodeAddr(%q) error %v, want one containing %q", tt.cidr, err, tt.err)
		case tt.err == "" && (err != nil || got.String() != tt.want):
			t.Errorf("NodeAddr(%q) = %v, %v; want %s", tt.cidr, got, err, tt.want)
		}
	}
}

// TestFreeBind starts the server on an address this host does not hold
// (from the 198.18.0.0/15 test range): without FreeBind listening fails;
// with it the server is up and waits for the address to appear. Nothing
// is sent to the address.
func TestFreeBind(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("IP_FREEBIND is Linux's")
	}
	const addr = "198.18.255.254:0"
	for _, free := range []bool{false, true} {
		s, err := New(Config{Client: fake.NewSimpleClientset(), Addr: addr, FreeBind: free, Upstreams: []string{"127.0.0.1:1"}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errc := make(chan error, 1)
		go func() { errc <- s.Run(ctx) }()
		select {
		case err := <-errc:
			if free || err == nil {
				t.Errorf("FreeBind %v: Run returned %v before serving", free, err)
			}
		case <-s.Ready():
			if !free {
				t.Errorf("served on %s without FreeBind", addr)
			}
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Run after cancel: %v", err)
			}
		case <-ctx.Done():
			t.Errorf("FreeBind %v: neither served nor failed within 10s", free)
		}
		cancel()
	}
}
