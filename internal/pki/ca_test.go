package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"slices"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustCA(t *testing.T, name string, now time.Time) *CA {
	t.Helper()
	ca, err := NewCA(name, now)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func mustParse(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	c, err := parseCert(certPEM)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return c
}

func TestNewCA(t *testing.T) {
	ca := mustCA(t, "skiff-ca", testNow)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Error("CA certificate is not marked as a CA")
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("KeyUsage = %v", c.KeyUsage)
	}
	if want := testNow.Add(-time.Hour); !c.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", c.NotBefore, want)
	}
	if want := time.Date(2036, 3, 1, 11, 0, 0, 0, time.UTC); !c.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
	}
	if k, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("public key %T is not P-256", c.PublicKey)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", c.SerialNumber)
	}
	if other := mustCA(t, "skiff-ca", testNow); other.Cert.SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("two CAs share a serial number")
	}
	if c.Subject.CommonName != "skiff-ca" {
		t.Errorf("CommonName = %q", c.Subject.CommonName)
	}
}

func TestLoadCA(t *testing.T) {
	ca := mustCA(t, "skiff-ca", testNow)
	other := mustCA(t, "other", testNow)
	leafCert, leafKey, err := ca.IssueServer("server", nil, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	withParams := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}), ca.KeyPEM...)

	tests := []struct {
		name    string
		cert    []byte
		key     []byte
		wantErr error // nil: success; errAny: any error
	}{
		{"EC key", ca.CertPEM, ca.KeyPEM, nil},
		{"PKCS#8 key", ca.CertPEM, pkcs8PEM, nil},
		{"EC PARAMETERS before the key", ca.CertPEM, withParams, nil},
		{"key of another CA", ca.CertPEM, other.KeyPEM, ErrKeyMismatch},
		{"leaf certificate with its own key", leafCert, leafKey, ErrNotCA},
		{"no certificate", []byte("junk"), ca.KeyPEM, errAny},
		{"no key", ca.CertPEM, ca.CertPEM, errAny},
		{"corrupt key", ca.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2, 3}}), errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadCA(tt.cert, tt.key)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("LoadCA: %v", err)
			case tt.wantErr == nil:
				if !got.Cert.Equal(ca.Cert) {
					t.Error("loaded certificate differs")
				}
				// The loaded CA must be able to sign certificates that
				// verify against the original.
				leaf, _, err := got.IssueClient("u", nil, testNow, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				verify(t, ca.Pool(), leaf, x509.ExtKeyUsageClientAuth, "")
			case err == nil:
				t.Fatal("LoadCA succeeded, want an error")
			case tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("LoadCA: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

func verify(t *testing.T, roots *x509.CertPool, certPEM []byte, usage x509.ExtKeyUsage, host string) {
	t.Helper()
	_, err := mustParse(t, certPEM).Verify(x509.VerifyOptions{
		Roots:       roots,
		DNSName:     host,
		CurrentTime: testNow,
		KeyUsages:   []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		t.Errorf("verify for %q: %v", host, err)
	}
}

func TestIssueServer(t *testing.T) {
	ca := mustCA(t, "skiff-ca", testNow)
	certPEM, keyPEM, err := ca.IssueServer("server-1", []string{"10.0.0.7", "server-1.skiff", "", "localhost", "10.0.0.7", "::1"}, testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseKey(keyPEM); err != nil {
		t.Fatalf("key: %v", err)
	}
	c := mustParse(t, certPEM)
	if want := []string{"localhost", "server-1.skiff"}; !slices.Equal(c.DNSNames, want) {
		t.Errorf("DNSNames = %q, want %q", c.DNSNames, want)
	}
	if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.ParseIP("10.0.0.7")) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IPAddresses = %v, want [10.0.0.7 ::1]", c.IPAddresses)
	}
	if c.IsCA {
		t.Error("server certificate is a CA")
	}
	if !c.NotAfter.Equal(testNow.Add(24 * time.Hour)) {
		t.Errorf("NotAfter = %v", c.NotAfter)
	}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		verify(t, ca.Pool(), certPEM, u, "server-1.skiff")
	}
	verify(t, ca.Pool(), certPEM, x509.ExtKeyUsageServerAuth, "localhost")
	if err := c.VerifyHostname("127.0.0.1"); err == nil {
		t.Error("127.0.0.1 was added without being asked for")
	}
}

func TestIssueClient(t *testing.T) {
	ca := mustCA(t, "skiff-ca", testNow)
	certPEM, _, err := ca.IssueClient("alice", []string{"system:masters", "dev"}, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, certPEM)
	if c.Subject.CommonName != "alice" || !slices.Equal(slices.Sorted(slices.Values(c.Subject.Organization)), []string{"dev", "system:masters"}) {
		t.Errorf("subject = %v", c.Subject)
	}
	verify(t, ca.Pool(), certPEM, x509.ExtKeyUsageClientAuth, "")
	if _, err := c.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: testNow}); err == nil {
		t.Error("client certificate verified for server authentication")
	}
}

func TestIssueValidity(t *testing.T) {
	ca := mustCA(t, "skiff-ca", testNow)
	if _, _, err := ca.IssueServer("s", nil, testNow, 0); err == nil {
		t.Error("zero validity accepted")
	}
	certPEM, _, err := ca.IssueServer("s", nil, testNow, 100*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustParse(t, certPEM).NotAfter; !got.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want it cut at the CA's %v", got, ca.Cert.NotAfter)
	}
	if _, _, err := ca.IssueClient("c", nil, ca.Cert.NotAfter.Add(time.Hour), time.Hour); err == nil {
		t.Error("an expired CA issued a certificate")
	}
}

func TestNewSerialRange(t *testing.T) {
	for range 100 {
		n, err := newSerial()
		if err != nil {
			t.Fatal(err)
		}
		if n.Sign() <= 0 || n.BitLen() > 128 {
			t.Fatalf("serial %v out of range", n)
		}
	}
}
