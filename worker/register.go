package worker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/skiffhq/skiff/api/skiffv1"
)

// credentialsFile is where, in the data directory, the worker keeps the
// node credential it registered for, so that a restart does not register
// again.
const credentialsFile = "credentials.json"

// credentials are what registration returns, kept on disk (0600).
type credentials struct {
	Node    string   `json:"node"`
	Token   string   `json:"token"`
	CA      string   `json:"ca"`
	Servers []string `json:"servers"`
}

func loadCredentials(dataDir, node string) (*credentials, bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, credentialsFile))
	if err != nil {
		return nil, false
	}
	var c credentials
	if json.Unmarshal(b, &c) != nil || c.Node != node || c.Token == "" || c.CA == "" {
		return nil, false
	}
	return &c, true
}

func (c *credentials) save(dataDir string) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, credentialsFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, credentialsFile)); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// register trades the cluster token for a node credential at serverURL.
//
// Trust: with caPEM (ca_file) the server is verified as usual. Without it
// the worker found serverURL through gossip, which only holders of the
// cluster token can speak, and it checks afterwards that the server's
// certificate chains to the CA it answered with; the CA is then pinned in
// the credentials file for every later call. A man in the middle of the
// first registration would need to be on the path to an address that
// gossip named; docs/worker.md says to set ca_file where that matters.
func register(ctx context.Context, serverURL, clusterToken, node string, caPEM []byte) (*credentials, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("ca_file holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	} else {
		tlsCfg.InsecureSkipVerify = true // checked against the returned CA below
	}
	var peer []*x509.Certificate
	tlsCfg.VerifyConnection = func(cs tls.ConnectionState) error {
		peer = cs.PeerCertificates
		return nil
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	defer hc.CloseIdleConnections()
	body, _ := json.Marshal(skiffv1.RegisterRequest{Node: node})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serverURL+skiffv1.RegisterPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+clusterToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("register at %s: %w", serverURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("register at %s: %w", serverURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("register at %s: %s: %s", serverURL, resp.Status, bytes.TrimSpace(data))
	}
	var rr skiffv1.RegisterResponse
	if err := json.Unmarshal(data, &rr); err != nil {
		return nil, fmt.Errorf("register at %s: answer: %w", serverURL, err)
	}
	if err := verifyChain(peer, []byte(rr.CA)); err != nil {
		return nil, fmt.Errorf("register at %s: %w", serverURL, err)
	}
	return &credentials{Node: node, Token: rr.Token, CA: rr.CA, Servers: rr.Servers}, nil
}

// verifyChain checks that the server's leaf certificate was signed by the
// CA it handed out, so a server cannot hand out a CA other than its own.
func verifyChain(peer []*x509.Certificate, caPEM []byte) error {
	if len(peer) == 0 {
		return errors.New("server presented no certificate")
	}
	blk, _ := pem.Decode(caPEM)
	if blk == nil {
		return errors.New("answer holds no CA certificate")
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("answer's CA: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	if _, err := peer[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter}); err != nil {
		return fmt.Errorf("server certificate does not chain to the CA it sent: %w", err)
	}
	return nil
}
