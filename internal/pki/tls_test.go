package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"
)

// handshake runs one TLS handshake over loopback TCP between a server using
// serverCfg and a client using clientCfg that expects the name host, and
// returns the client's error and the connection state it saw.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config, host string) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	serverDone := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverDone <- err
			return
		}
		defer c.Close()
		c.SetDeadline(deadline)
		tc := tls.Server(c, serverCfg)
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte{'k'})
		}
		serverDone <- err
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	d := &net.Dialer{Deadline: deadline}
	c, err := tls.DialWithDialer(d, "tcp", "127.0.0.1:"+port, withServerName(clientCfg, host))
	var state tls.ConnectionState
	if err == nil {
		state = c.ConnectionState()
		c.SetDeadline(deadline)
		// A TLS 1.3 server verifies client certificates after the client
		// thinks the handshake is done; reading the byte the server writes
		// on success surfaces its verdict.
		if _, rerr := c.Read(make([]byte, 1)); rerr != nil {
			err = rerr
		}
		c.Close()
	}
	<-serverDone
	return state, err
}

func withServerName(cfg *tls.Config, host string) *tls.Config {
	cfg = cfg.Clone()
	cfg.ServerName = host
	return cfg
}

func serverConfig(t *testing.T, ca *CA, hosts ...string) *tls.Config {
	t.Helper()
	certPEM, keyPEM, err := ca.IssueServer("server", hosts, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerTLSConfig(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func clientConfig(t *testing.T, ca *CA) *tls.Config {
	t.Helper()
	cfg, err := ClientTLSConfig(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestHandshake(t *testing.T) {
	ca := mustCA(t, "skiff-ca", time.Now())
	other := mustCA(t, "other-ca", time.Now())
	srv := serverConfig(t, ca, "127.0.0.1", "localhost")

	tests := []struct {
		name      string
		client    *tls.Config
		host      string
		wantErrAs any // nil: success
		wantTLS13 bool
	}{
		{name: "IP SAN", client: clientConfig(t, ca), host: "127.0.0.1", wantTLS13: true},
		{name: "localhost", client: clientConfig(t, ca), host: "localhost", wantTLS13: true},
		{name: "client trusting another CA", client: clientConfig(t, other), host: "127.0.0.1", wantErrAs: new(x509.UnknownAuthorityError)},
		{name: "name not in the certificate", client: clientConfig(t, ca), host: "elsewhere.example", wantErrAs: new(x509.HostnameError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, err := handshake(t, srv, tt.client, tt.host)
			if tt.wantErrAs == nil {
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				if tt.wantTLS13 && state.Version != tls.VersionTLS13 {
					t.Errorf("negotiated version %x, want TLS 1.3", state.Version)
				}
				return
			}
			if err == nil {
				t.Fatal("handshake succeeded, want a verification error")
			}
			if !errors.As(err, tt.wantErrAs) {
				t.Fatalf("handshake: %v (%T), want %T", err, err, tt.wantErrAs)
			}
		})
	}
}

func TestHandshakeTLS12(t *testing.T) {
	ca := mustCA(t, "skiff-ca", time.Now())
	client := clientConfig(t, ca)
	client.MaxVersion = tls.VersionTLS12
	state, err := handshake(t, serverConfig(t, ca, "127.0.0.1"), client, "127.0.0.1")
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if state.Version != tls.VersionTLS12 {
		t.Errorf("negotiated version %x, want TLS 1.2", state.Version)
	}
	client.MaxVersion = tls.VersionTLS11
	client.MinVersion = tls.VersionTLS10
	if _, err := handshake(t, serverConfig(t, ca, "127.0.0.1"), client, "127.0.0.1"); err == nil {
		t.Error("TLS 1.1 handshake succeeded")
	}
}

// TestMutualTLS checks a server certificate also works as a client
// certificate, which is how servers will call each other.
func TestMutualTLS(t *testing.T) {
	ca := mustCA(t, "skiff-ca", time.Now())
	other := mustCA(t, "other-ca", time.Now())
	srv := serverConfig(t, ca, "127.0.0.1")
	srv.ClientAuth = tls.RequireAndVerifyClientCert
	srv.ClientCAs = ca.Pool()

	for _, tc := range []struct {
		name   string
		issuer *CA
		ok     bool
	}{{"peer certificate from the cluster CA", ca, true}, {"peer certificate from another CA", other, false}} {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, keyPEM, err := tc.issuer.IssueServer("peer", []string{"127.0.0.2"}, time.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			pair, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			client := clientConfig(t, ca)
			client.Certificates = []tls.Certificate{pair}
			_, err = handshake(t, srv, client, "127.0.0.1")
			if tc.ok && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("server accepted a peer from another CA")
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	ca := mustCA(t, "skiff-ca", time.Now())
	if _, err := ClientTLSConfig([]byte("not PEM")); err == nil {
		t.Error("ClientTLSConfig accepted garbage")
	}
	certPEM, _, err := ca.IssueServer("s", nil, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ServerTLSConfig(certPEM, ca.KeyPEM); err == nil {
		t.Error("ServerTLSConfig accepted a key that is not the certificate's")
	}
}
