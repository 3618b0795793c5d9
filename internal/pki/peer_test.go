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

// TestPeerTLSRotation pairs servers in the states of a token rotation from
// token A to token B: "A" uses A alone, "A+b" uses A and accepts B, "B+a"
// uses B and accepts A, "B" uses B alone. A pair connects, either way round,
// when each trusts the CA of the certificate the other presents, which is
// the case for every two neighbouring steps and for no other pair.
func TestPeerTLSRotation(t *testing.T) {
	const a, b = "rotation-token-aaaaaaaa", "rotation-token-bbbbbbbb"
	now := time.Now()
	type pair struct{ server, client *tls.Config }
	states := map[string]pair{}
	for name, toks := range map[string][]string{"A": {a}, "A+b": {a, b}, "B+a": {b, a}, "B": {b}} {
		s, c, err := PeerTLS(toks[0], name, now, toks[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		states[name] = pair{s, c}
	}
	tests := []struct {
		x, y string
		ok   bool
	}{
		{"A", "A+b", true},
		{"A+b", "B+a", true},
		{"B+a", "B", true},
		{"A", "B+a", false}, // B+a's certificate is from B's CA, which A does not trust
		{"A+b", "B", false}, // and the other way round
		{"A", "B", false},
	}
	for _, tc := range tests {
		for _, dir := range [][2]string{{tc.x, tc.y}, {tc.y, tc.x}} {
			t.Run(dir[0]+" serves "+dir[1], func(t *testing.T) {
				_, err := handshake(t, states[dir[0]].server, states[dir[1]].client, PeerName)
				if tc.ok && err != nil {
					t.Fatalf("handshake failed: %v", err)
				}
				if !tc.ok && err == nil {
					t.Fatal("handshake succeeded, want refusal")
				}
			})
		}
	}
	if _, _, err := PeerTLS(a, "x", now, ""); err == nil {
		t.Error("an empty accepted token was taken")
	}
}
