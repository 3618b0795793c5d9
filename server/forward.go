package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// Internal endpoints one server calls on another. They take the cluster
// token; issue-tracked work moves them to mutual TLS.
const (
	pathPropose   = "/skiff/v1/internal/propose"
	pathReadIndex = "/skiff/v1/internal/readindex"
	pathStatus    = "/skiff/v1/internal/status"
)

// forwarder implements raftstore.Forwarder over the leader's HTTP API,
// finding the leader's API address in its gossip metadata.
type forwarder struct {
	s      *Server
	certs  []tls.Certificate           // this server's peer certificate
	client atomic.Pointer[http.Client] // set once the cluster CA is known
	batch  *batcher
}

func newForwarder(s *Server, peerCerts []tls.Certificate) *forwarder {
	f := &forwarder{s: s, certs: peerCerts}
	f.batch = newBatcher(f)
	return f
}

// setTLS makes the forwarder talk HTTPS to servers with certificates from
// the cluster CA, showing its peer certificate.
func (f *forwarder) setTLS(cfg *tls.Config) {
	cfg = cfg.Clone()
	cfg.Certificates = f.certs
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     cfg,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	f.client.Store(&http.Client{Transport: tr})
}

// httpClient returns the client for other servers, waiting for TLS.
func (f *forwarder) httpClient(ctx context.Context) (*http.Client, error) {
	if _, err := f.s.tlsReady(ctx); err != nil {
		return nil, fmt.Errorf("%w: no TLS yet: %v", raftstore.ErrNoLeader, err)
	}
	c := f.client.Load()
	if c == nil {
		// loadPKI sets the client before the TLS state, so this is a bug.
		return nil, fmt.Errorf("%w: forwarding client not set up", raftstore.ErrNoLeader)
	}
	return c, nil
}

func (f *forwarder) close() {
	if c := f.client.Load(); c != nil {
		c.CloseIdleConnections()
	}
}

// apiAddr returns the API address of the server with the given name.
func (f *forwarder) apiAddr(id raft.ServerID) (string, error) {
	for _, m := range f.s.gossip.Servers() {
		if m.Meta.Name == string(id) && m.Meta.APIAddr != "" {
			return m.Meta.APIAddr, nil
		}
	}
	return "", fmt.Errorf("%w: leader %s not known to gossip yet", raftstore.ErrNoLeader, id)
}

func (f *forwarder) do(ctx context.Context, id raft.ServerID, method, path string, body []byte) (*http.Response, error) {
	addr, err := f.apiAddr(id)
	if err != nil {
		return nil, err
	}
	client, err := f.httpClient(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+f.s.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			// Nothing was sent: the leader is gone. Look again.
			return nil, fmt.Errorf("%w: %v", raftstore.ErrNotLeader, err)
		}
		return nil, err
	}
	return resp, nil
}

// Propose forwards cmd to the leader as part of a batch (see batcher).
func (f *forwarder) Propose(ctx context.Context, id raft.ServerID, cmd []byte) (fsm.Result, error) {
	return f.batch.propose(ctx, id, cmd)
}

// proposeOne forwards cmd to the leader in a request of its own.
func (f *forwarder) proposeOne(ctx context.Context, id raft.ServerID, cmd []byte) (fsm.Result, error) {
	resp, err := f.do(ctx, id, http.MethodPost, pathPropose, cmd)
	if err != nil {
		if errors.Is(err, raftstore.ErrNotLeader) || errors.Is(err, raftstore.ErrNoLeader) {
			return fsm.Result{}, err
		}
		return fsm.Result{}, fmt.Errorf("%w: forward to %s: %v", raftstore.ErrUnknownOutcome, id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fsm.Result{}, remoteError(resp)
	}
	var res fsm.Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return fsm.Result{}, fmt.Errorf("%w: decode leader reply: %v", raftstore.ErrUnknownOutcome, err)
	}
	return res, nil
}

func (f *forwarder) ReadIndex(ctx context.Context, id raft.ServerID) (uint64, error) {
	resp, err := f.do(ctx, id, http.MethodGet, pathReadIndex, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, remoteError(resp)
	}
	var body struct{ Rev uint64 }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("decode read index: %w", err)
	}
	return body.Rev, nil
}

// remoteError turns another server's Status reply into the error it stands
// for.
func remoteError(resp *http.Response) error {
	var st status
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &st) != nil || st.Message == "" {
		st.Message = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return reasonError(st.Reason, st.Message)
}

// reasonError turns a status reason and message from another server into
// the error it stands for; storeErrorStatus is its inverse.
func reasonError(reason, msg string) error {
	switch reason {
	case reasonNotLeader:
		return fmt.Errorf("%w: %s", raftstore.ErrNotLeader, msg)
	case reasonUnknownOutcome:
		return fmt.Errorf("%w: %s", raftstore.ErrUnknownOutcome, msg)
	case reasonRequestTooLarge:
		return fmt.Errorf("%w: %s", fsm.ErrTooLarge, msg)
	case reasonBadRequest:
		return fmt.Errorf("%w: %s", fsm.ErrInvalidCommand, msg)
	}
	return errors.New(msg)
}
