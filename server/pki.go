package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/internal/pki"
)

// caKey is where the cluster CA lives in the store. Only the servers read
// it; the API serves nothing under /registry/skiff.io/.
const caKey = "/registry/skiff.io/pki/ca"

// Files every server writes into its data directory once the CA exists.
const (
	CAFile          = "ca.crt"
	AdminKubeconfig = "admin.kubeconfig"
)

// serverCertValidity is how long a server's serving certificate lasts; a
// server issues itself a new one at every start.
const serverCertValidity = 365 * 24 * time.Hour

type storedCA struct {
	Cert []byte `json:"cert"`
	Key  []byte `json:"key"`
}

// tlsState is the server's TLS material, set once the CA is known.
type tlsState struct {
	cert   *tls.Certificate
	client *tls.Config // trusts the cluster CA, for calls to other servers
	caPEM  []byte
}

// certificate serves the server certificate once it exists; handshakes
// before then fail, as the server is not part of a cluster yet.
func (s *Server) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	st := s.tls.Load()
	if st == nil {
		// A restarting server listens before it has issued its
		// certificate again (a few hundred ms, until its store has the
		// CA): hold the handshake for that long rather than fail it.
		base := hello.Context()
		if base == nil {
			base = context.Background()
		}
		ctx, cancel := context.WithTimeout(base, certificateWait)
		defer cancel()
		var err error
		if st, err = s.tlsReady(ctx); err != nil {
			return nil, errors.New("this server has no certificate yet: its cluster has not been bootstrapped, or it has not caught up")
		}
	}
	return st.cert, nil
}

// certificateWait bounds how long a TLS handshake waits for the server's
// certificate.
const certificateWait = 3 * time.Second

// tlsReady returns the TLS state, waiting for it until ctx ends.
func (s *Server) tlsReady(ctx context.Context) (*tlsState, error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if st := s.tls.Load(); st != nil {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// pkiLoop waits until the cluster CA exists in the store (the first leader
// creates it: ensureCA), then issues this server's certificate and writes ca.crt and
// admin.kubeconfig into the data directory.
func (s *Server) pkiLoop(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		err := s.loadPKI(ctx)
		if err == nil {
			return
		}
		if !errors.Is(err, errNoCA) {
			s.log.Warn("setting up TLS", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var errNoCA = errors.New("no cluster CA yet")

func (s *Server) loadPKI(ctx context.Context) error {
	kv, ok, _ := s.node.Store().Get(caKey)
	if !ok {
		// The leader creates it (ensureCA).
		return errNoCA
	}
	var sc storedCA
	if err := json.Unmarshal(kv.Value, &sc); err != nil {
		return fmt.Errorf("stored CA: %w", err)
	}
	ca, err := pki.LoadCA(sc.Cert, sc.Key)
	if err != nil {
		return fmt.Errorf("stored CA: %w", err)
	}
	host, _, _ := net.SplitHostPort(s.APIAddr())
	hosts := []string{"localhost", "127.0.0.1", "::1", s.cfg.Name}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		hosts = append(hosts, host)
	}
	if hn, err := os.Hostname(); err == nil {
		hosts = append(hosts, hn)
	}
	certPEM, keyPEM, err := ca.IssueServer(s.cfg.Name, hosts, time.Now(), serverCertValidity)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	client, err := pki.ClientTLSConfig(ca.CertPEM)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.cfg.DataDir, CAFile), ca.CertPEM, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", CAFile, err)
	}
	if err := pki.WriteKubeconfig(filepath.Join(s.cfg.DataDir, AdminKubeconfig), s.URL(), ca.CertPEM, auth.AdminUserName, auth.AdminToken(s.token)); err != nil {
		return err
	}
	// The forwarder's client first: once tlsReady sees the state, callers
	// of fwd.httpClient use the client without looking again, and a nil
	// one would panic the request that forwards through it.
	s.fwd.setTLS(client)
	s.tls.Store(&tlsState{cert: &pair, client: client, caPEM: ca.CertPEM})
	s.log.Info("TLS ready", "kubeconfig", filepath.Join(s.cfg.DataDir, AdminKubeconfig))
	return nil
}

// ensureCA creates the cluster CA and stores it, fenced to the leader's
// term, unless it exists; losing the race to another leader's create is
// fine.
func (s *Server) ensureCA(ctx context.Context, term uint64) error {
	if _, ok, _ := s.node.Store().Get(caKey); ok {
		return nil
	}
	ca, err := pki.NewCA("skiff-ca", time.Now())
	if err != nil {
		return err
	}
	b, err := json.Marshal(storedCA{Cert: ca.CertPEM, Key: ca.KeyPEM})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := s.node.Propose(cctx, &fsm.Command{Op: fsm.OpCreate, Key: caKey, Value: b, Term: term})
	if err != nil {
		return fmt.Errorf("store cluster CA: %w", err)
	}
	if res.Code != fsm.CodeOK && res.Code != fsm.CodeKeyExists {
		return res.Err()
	}
	return nil
}

// CA returns the cluster CA certificate (PEM), or nil before this server
// has set up TLS.
func (s *Server) CA() []byte {
	if st := s.tls.Load(); st != nil {
		return st.caPEM
	}
	return nil
}

// URL is the HTTPS URL clients use to reach this server.
func (s *Server) URL() string {
	host, port, _ := net.SplitHostPort(s.APIAddr())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "https://" + net.JoinHostPort(host, port)
}
