package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// poll calls cond every 20ms until it returns nil or ctx ends; it returns
// the last error.
func poll(ctx context.Context, cond func() error) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// WaitReady waits until each of the servers answers /readyz with 200: it
// knows a leader, has applied the leader's commit index and serves TLS.
func (c *Cluster) WaitReady(ctx context.Context, servers ...int) error {
	for _, i := range servers {
		err := poll(ctx, func() error {
			if !c.Running(i) {
				return fmt.Errorf("server %s is not running", Name(i))
			}
			if _, err := os.Stat(filepath.Join(c.DataDir(i), "ca.crt")); err != nil {
				return err
			}
			rctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			code, body, err := c.Do(rctx, i, http.MethodGet, "/readyz", nil)
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("readyz %d: %s", code, body)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("server %s not ready: %w\n%s", Name(i), err, c.LogTail(i, 20))
		}
	}
	return nil
}

// raftServer is the part of GET /skiff/v1/operator/raft the harness reads.
type raftServer struct {
	ID     string `json:"id"`
	Leader bool   `json:"leader"`
}

// Leader returns the index of a running, reachable server that says it is
// the leader, waiting until one does or ctx ends. Only the leader's own
// word counts: followers go on naming a dead leader until they time out.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	leader := -1
	err := poll(ctx, func() error {
		for i := range c.hosts {
			if !c.Running(i) {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			code, body, err := c.Do(rctx, i, http.MethodGet, "/skiff/v1/operator/raft", nil)
			cancel()
			if err != nil || code != http.StatusOK {
				continue
			}
			var resp struct {
				Servers []raftServer `json:"servers"`
			}
			if json.Unmarshal(body, &resp) != nil {
				continue
			}
			for _, s := range resp.Servers {
				if s.Leader && s.ID == Name(i) {
					leader = i
					return nil
				}
			}
		}
		return errors.New("no server names a leader")
	})
	return leader, err
}

// StoreHash is one replica's digest, as GET /skiff/v1/operator/hash
// reports it.
type StoreHash struct {
	ID       string `json:"id"`
	Revision uint64 `json:"revision"`
	Hash     string `json:"hash"`
}

// Hash asks server i for its replica's digest.
func (c *Cluster) Hash(ctx context.Context, i int) (StoreHash, error) {
	var h StoreHash
	code, body, err := c.Do(ctx, i, http.MethodGet, "/skiff/v1/operator/hash", nil)
	if err != nil {
		return h, err
	}
	if code != http.StatusOK {
		return h, fmt.Errorf("hash from %s: %d %s", Name(i), code, body)
	}
	err = json.Unmarshal(body, &h)
	return h, err
}

// WaitConverged waits until every server reports the same revision and the
// same digest, and returns them. Replicas at one revision with different
// digests have diverged: that is an error at once, not a wait.
func (c *Cluster) WaitConverged(ctx context.Context) ([]StoreHash, error) {
	var hashes []StoreHash
	var diverged error
	err := poll(ctx, func() error {
		hashes = hashes[:0]
		for i := range c.hosts {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			h, err := c.Hash(rctx, i)
			cancel()
			if err != nil {
				return err
			}
			hashes = append(hashes, h)
		}
		for _, h := range hashes[1:] {
			if h.Revision != hashes[0].Revision {
				return fmt.Errorf("revisions differ: %+v", hashes)
			}
			if h.Hash != hashes[0].Hash {
				diverged = fmt.Errorf("replicas diverged at revision %d: %+v", h.Revision, hashes)
				return nil
			}
		}
		return nil
	})
	if diverged != nil {
		return hashes, diverged
	}
	return hashes, err
}

// TransferLeadership asks the cluster to make server to the leader and
// waits until it says it is.
func (c *Cluster) TransferLeadership(ctx context.Context, to int) error {
	return poll(ctx, func() error {
		if l, err := c.Leader(ctx); err == nil && l == to {
			return nil
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		body := strings.NewReader(fmt.Sprintf(`{"id":%q}`, Name(to)))
		code, b, err := c.Do(rctx, to, http.MethodPost, "/skiff/v1/operator/raft/transfer-leadership", body)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("transfer leadership to %s: %d %s", Name(to), code, b)
		}
		return errors.New("transferred; waiting for the new leader")
	})
}
