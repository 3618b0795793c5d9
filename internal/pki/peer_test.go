package pki

import (
	"crypto/tls"
	"testing"
	"time"
)

func TestPeerTLS(t *testing.T) {
	now := time.Now()
	s1, c1, err := PeerTLS("cluster-token-aaaaaaaa", "s1", now)
	if err != nil {
		t.Fatal(err)
	}
	s2, c2, err := PeerTLS("cluster-token-aaaaaaaa", "s2", now)
	if err != nil {
		t.Fatal(err)
	}
	_, cOther, err := PeerTLS("another-token-bbbbbbbb", "x", now)
	if err != nil {
		t.Fatal(err)
	}
	// A certificate from the cluster CA is not a peer certificate.
	ca, err := NewCA("skiff-ca", now)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueServer("worker", []string{PeerName}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	worker := c1.Clone()
	worker.Certificates = []tls.Certificate{pair}
	noCert := c1.Clone()
	noCert.Certificates = nil

	tests := []struct {
		name   string
		server *tls.Config
		client *tls.Config
		ok     bool
	}{
		{"two servers of one cluster", s1, c2, true},
		{"and the other way round", s2, c1, true},
		{"server of another cluster", s1, cOther, false},
		{"certificate from another CA", s1, worker, false},
		{"no client certificate", s1, noCert, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := handshake(t, tc.server, tc.client, PeerName)
			if tc.ok && err != nil {
				t.Fatalf("handshake failed: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("handshake succeeded, want refusal")
			}
		})
	}
}
