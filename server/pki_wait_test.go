package server

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/skiffhq/skiff/internal/pki"
)

// TestHandshakeWaitsForCertificate opens a TLS connection to a server that
// has no certificate yet (a restart, before its store has the CA again)
// and gives it one while the handshake is under way: the handshake waits
// for it and succeeds instead of failing with "tls: internal error".
func TestHandshakeWaitsForCertificate(t *testing.T) {
	srvCfg, cliCfg, err := pki.PeerTLS("handshake-token-0123456789", "s1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: s.certificate})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.(*tls.Conn).Handshake()
			}()
		}
	}()
	handshake := make(chan error, 1)
	go func() {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), cliCfg)
		if err == nil {
			c.Close()
		}
		handshake <- err
	}()
	// The handshake is held, not refused: nothing comes back until the
	// certificate exists (a bounded negative check).
	select {
	case err := <-handshake:
		t.Fatalf("handshake ended before the server had a certificate: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	s.tls.Store(&tlsState{cert: &srvCfg.Certificates[0]})
	select {
	case err := <-handshake:
		if err != nil {
			t.Fatalf("handshake after the certificate appeared: %v", err)
		}
	case <-time.After(certificateWait + 5*time.Second):
		t.Fatal("handshake still waiting after the certificate appeared")
	}
}
