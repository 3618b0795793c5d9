package pki

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// PeerName is the DNS name every server's peer certificate carries and
// every server dials: it marks a certificate as a server's, so a
// certificate for anything else (a worker's, say) is refused even if it
// chains to the same CA.
const PeerName = "skiff-server"

// peerCAInfo separates the peer CA's key from every other secret derived
// from the cluster token.
const peerCAInfo = "skiff raft peer CA v1"

// PeerTLS returns the TLS configurations servers use among themselves
// (Raft): mutual TLS 1.3 with certificates from the peer CA, a CA whose
// Ed25519 key is derived from the cluster token, so that every server has it
// before the cluster exists and nobody without the token can join. name is
// this server's name, written into its certificate.
//
// The server presents a certificate from clusterToken's CA, on both ends of
// a connection, and trusts the CAs of clusterToken and of every accepted
// token. That is what a rotation needs: while the servers move from one
// token to the next, each of them trusts the CA of the token every other
// one presents. Choosing the certificate by the peer's acceptable CAs
// instead would not work: every peer CA has the same name (a different name
// would lock out servers of earlier versions), and a TLS client does not
// say which CAs it trusts.
func PeerTLS(clusterToken, name string, now time.Time, accepted ...string) (server, client *tls.Config, err error) {
	if clusterToken == "" {
		return nil, nil, errors.New("peer TLS needs the cluster token")
	}
	caCert, caKey, err := peerCA(clusterToken)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	for i, t := range accepted {
		if t == "" {
			return nil, nil, fmt.Errorf("peer TLS: accepted token %d is empty", i)
		}
		c, _, err := peerCA(t)
		if err != nil {
			return nil, nil, err
		}
		pool.AddCert(c)
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, OrganizationalUnit: []string{PeerName}},
		DNSNames:     []string{PeerName},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, pub, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("peer certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
	// Go verifies the chain; this also demands the server marker of the
	// client's certificate, which chain verification does not look at.
	requirePeer := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 || !slices.Contains(cs.PeerCertificates[0].DNSNames, PeerName) {
			return errors.New("peer certificate is not a Skiff server's")
		}
		return nil
	}
	server = &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        pool,
		VerifyConnection: requirePeer,
	}
	client = &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{cert},
		RootCAs:          pool,
		ServerName:       PeerName,
		VerifyConnection: requirePeer,
	}
	return server, client, nil
}

// peerCA returns the peer CA of token. Ed25519 signatures are
// deterministic, so every server derives the same certificate, byte for
// byte.
func peerCA(token string) (*x509.Certificate, ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, []byte(token), nil, peerCAInfo, ed25519.SeedSize)
	if err != nil {
		return nil, nil, err
	}
	caKey := ed25519.NewKeyFromSeed(seed)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "skiff-peer-ca"},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("peer CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	return caCert, caKey, nil
}
