package netsim

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as an echo server inside a host's
// namespace (NETSIM_ECHO=addr).
func TestMain(m *testing.M) {
	if addr := os.Getenv("NETSIM_ECHO"); addr != "" {
		echo(addr)
		return
	}
	os.Exit(m.Run())
}

func echo(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("ready\n")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

func roundTrip(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

func TestNetReachCutDelay(t *testing.T) {
	if err := Supported(); err != nil {
		t.Skip(err)
	}
	if err := RemoveStale(); err != nil {
		t.Logf("remove stale namespaces: %v", err)
	}
	subnet, err := FreeSubnet()
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNet(ProcessPrefix(), subnet, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if _, err := n.AddLocal("client"); err != nil {
		t.Fatal(err)
	}
	a, err := n.AddHost("a")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(a.Addr, 9000).String()
	cmd := a.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NETSIM_ECHO="+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("echo server in %s: %q %v", a.NS, line, err)
	}

	if err := roundTrip(addr, 5*time.Second); err != nil {
		t.Fatalf("round trip to %s: %v", addr, err)
	}
	a.Port.SetCut(true)
	if err := roundTrip(addr, 300*time.Millisecond); err == nil {
		t.Fatal("round trip succeeded across a cut")
	}
	a.Port.SetCut(false)
	if err := roundTrip(addr, 5*time.Second); err != nil {
		t.Fatalf("round trip after healing: %v", err)
	}
	const d = 50 * time.Millisecond
	a.Port.SetDelay(d, 0)
	start := time.Now()
	if err := roundTrip(addr, 5*time.Second); err != nil {
		t.Fatalf("round trip with delay: %v", err)
	}
	// Connect and echo are two round trips of two delayed hops each; a
	// lower bound, which a slow machine cannot break.
	if el := time.Since(start); el < 4*d {
		t.Fatalf("delayed round trip took %v, want at least %v", el, 4*d)
	}
}

func TestRemoveStaleKeepsLive(t *testing.T) {
	if err := Supported(); err != nil {
		t.Skip(err)
	}
	// A namespace named for this (live) process survives RemoveStale.
	name := ProcessPrefix() + "-keep"
	if err := ip("netns", "add", name); err != nil {
		t.Fatal(err)
	}
	defer ip("netns", "del", name)
	if err := RemoveStale(); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("ip", "netns", "list").Output(); !strings.Contains(string(out), name) {
		t.Fatalf("RemoveStale removed %s of a live process", name)
	}
}
