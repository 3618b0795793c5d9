package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// ServerTLSConfig returns a tls.Config that serves the certificate and key
// in certPEM and keyPEM. It accepts TLS 1.2 and later; Go negotiates 1.3
// with any client that offers it. NextProtos is left empty so http.Server
// can add "h2" and "http/1.1" itself.
func ServerTLSConfig(certPEM, keyPEM []byte) (*tls.Config, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("server key pair: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
	}, nil
}

// ClientTLSConfig returns a tls.Config that trusts only the certificates
// in caPEM (not the system roots) and verifies the server's name as usual.
func ClientTLSConfig(caPEM []byte) (*tls.Config, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("client TLS config: no CA certificate in PEM")
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    pool,
	}, nil
}
