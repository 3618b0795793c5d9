package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// pathProposeBatch carries several proposals from a follower to the leader
// in one request: a group commit of forwarded writes. Under load a
// follower has many writes in flight; sending each as its own HTTPS
// request costs both servers more CPU than committing it.
const pathProposeBatch = "/skiff/v1/internal/propose-batch"

// Limits of one batch. maxBatchBytes stays under the leader's body limit
// with room for the length prefixes.
const (
	maxBatchCmds  = 256
	maxBatchBytes = 2 * fsm.MaxCommandSize
	// maxSenders is how many batches a follower keeps in flight to one
	// leader. A lone write never waits for another's batch.
	maxSenders = 4
	// batchTimeout bounds a batch whose commands carry no deadline.
	batchTimeout = 30 * time.Second
)

// batchResult is one command's answer in a batch reply: its Result, or
// the status its error maps to.
type batchResult struct {
	Result  fsm.Result `json:"result"`
	Reason  string     `json:"reason,omitempty"`
	Message string     `json:"message,omitempty"`
}

// encodeBatch writes each command with a uvarint length prefix.
func encodeBatch(cmds [][]byte) []byte {
	n := 0
	for _, c := range cmds {
		n += binary.MaxVarintLen64 + len(c)
	}
	out := make([]byte, 0, n)
	for _, c := range cmds {
		out = binary.AppendUvarint(out, uint64(len(c)))
		out = append(out, c...)
	}
	return out
}

// decodeBatch splits a batch body; it refuses an empty batch, too many
// commands, and lengths that overrun the body.
func decodeBatch(b []byte) ([][]byte, error) {
	var cmds [][]byte
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("batch command %d: bad length", len(cmds))
		}
		if len(cmds) == maxBatchCmds {
			return nil, fmt.Errorf("batch holds more than %d commands", maxBatchCmds)
		}
		cmds = append(cmds, b[k:k+int(n)])
		b = b[k+int(n):]
	}
	if len(cmds) == 0 {
		return nil, errors.New("empty batch")
	}
	return cmds, nil
}

// handleProposeBatch commits every command of a batch concurrently, so
// Raft appends them together, and answers each.
func (s *Server) handleProposeBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBatchBytes+maxBatchCmds*binary.MaxVarintLen64+1))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, "read batch: "+err.Error())
		return
	}
	cmds, err := decodeBatch(body)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, reasonBadRequest, err.Error())
		return
	}
	out := make([]batchResult, len(cmds))
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.node.ApplyLocal(r.Context(), cmd)
			if err != nil {
				_, reason := storeErrorStatus(err)
				out[i] = batchResult{Reason: reason, Message: err.Error()}
				return
			}
			out[i] = batchResult{Result: res}
		}()
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, struct {
		Results []batchResult `json:"results"`
	}{out})
}

// batcher groups a follower's forwarded proposals per leader. A write that
// finds nothing in flight goes out at once, alone, from its own goroutine.
// Others join their leader's queue; up to maxSenders senders drain it, each
// sending what has gathered as one batch, so batches grow with the load.
type batcher struct {
	f *forwarder

	mu     sync.Mutex
	queues map[raft.ServerID]*batchQueue
}

type batchQueue struct {
	pending []*proposal
	senders int
	// unsupported is set when the leader does not know the batch
	// endpoint (an older version during an upgrade).
	unsupported bool
}

// proposal is one command waiting for its batch. taken is set, under the
// batcher's lock, once a sender has picked it up: after that its outcome
// depends on the leader.
type proposal struct {
	ctx   context.Context
	cmd   []byte
	taken bool
	done  chan struct{}
	res   fsm.Result
	err   error
}

func newBatcher(f *forwarder) *batcher {
	return &batcher{f: f, queues: map[raft.ServerID]*batchQueue{}}
}

// propose commits cmd through the leader id as part of a batch. Errors
// mean what Forwarder.Propose's do.
func (b *batcher) propose(ctx context.Context, id raft.ServerID, cmd []byte) (fsm.Result, error) {
	p := &proposal{ctx: ctx, cmd: cmd, done: make(chan struct{})}
	b.mu.Lock()
	q := b.queues[id]
	if q == nil {
		q = &batchQueue{}
		b.queues[id] = q
	}
	if q.unsupported {
		b.mu.Unlock()
		return b.f.proposeOne(ctx, id, cmd)
	}
	if q.senders == 0 {
		// Nothing in flight: send this write at once from the caller's
		// goroutine, as a sender that writes arriving meanwhile queue
		// behind (or start their own senders beside).
		q.senders++
		b.mu.Unlock()
		res, err := b.f.proposeOne(ctx, id, cmd)
		// Writes queued meanwhile found a sender slot free and started
		// their own sender.
		b.mu.Lock()
		q.senders--
		b.mu.Unlock()
		return res, err
	}
	q.pending = append(q.pending, p)
	if q.senders < maxSenders {
		q.senders++
		go b.send(id, q)
	}
	b.mu.Unlock()

	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	taken := p.taken
	if !taken {
		// Never sent: drop it from the queue; nothing was applied.
		for i, x := range q.pending {
			if x == p {
				q.pending = append(q.pending[:i], q.pending[i+1:]...)
				break
			}
		}
	}
	b.mu.Unlock()
	if !taken {
		return fsm.Result{}, ctx.Err()
	}
	return fsm.Result{}, fmt.Errorf("%w: forward to %s: %w", raftstore.ErrUnknownOutcome, id, ctx.Err())
}

// send drains the queue batch by batch and exits when it is empty.
func (b *batcher) send(id raft.ServerID, q *batchQueue) {
	for {
		b.mu.Lock()
		var batch []*proposal
		size := 0
		for len(q.pending) > 0 && len(batch) < maxBatchCmds && size+len(q.pending[0].cmd) <= maxBatchBytes {
			p := q.pending[0]
			q.pending = q.pending[1:]
			p.taken = true
			batch = append(batch, p)
			size += len(p.cmd)
		}
		if len(batch) == 0 && len(q.pending) > 0 {
			// One command larger than the batch limit: alone.
			batch, q.pending = q.pending[:1], q.pending[1:]
			batch[0].taken = true
		}
		if len(batch) == 0 {
			// The queue stays: there is one per leader ever seen.
			q.senders--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.sendBatch(id, q, batch)
	}
}

func (b *batcher) sendBatch(id raft.ServerID, q *batchQueue, batch []*proposal) {
	// The batch outlives any one caller's context: the latest deadline
	// among its commands bounds it, and batchTimeout if one has none.
	end := time.Time{}
	for _, p := range batch {
		dl, ok := p.ctx.Deadline()
		if !ok {
			dl = time.Now().Add(batchTimeout)
		}
		if dl.After(end) {
			end = dl
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	cmds := make([][]byte, len(batch))
	for i, p := range batch {
		cmds[i] = p.cmd
	}
	results, err := b.f.proposeBatch(ctx, id, encodeBatch(cmds))
	if errors.Is(err, errBatchUnsupported) {
		b.mu.Lock()
		q.unsupported = true
		b.mu.Unlock()
		for _, p := range batch {
			p.res, p.err = b.f.proposeOne(p.ctx, id, p.cmd)
			close(p.done)
		}
		return
	}
	for i, p := range batch {
		switch {
		case err != nil:
			p.err = err
		case i >= len(results):
			p.err = fmt.Errorf("%w: leader %s answered %d of %d commands", raftstore.ErrUnknownOutcome, id, len(results), len(batch))
		case results[i].Reason != "":
			p.err = reasonError(results[i].Reason, results[i].Message)
		default:
			p.res = results[i].Result
		}
		close(p.done)
	}
}

// errBatchUnsupported means the leader does not serve pathProposeBatch.
var errBatchUnsupported = errors.New("leader does not accept batches")

// proposeBatch sends one batch and returns the per-command answers. An
// error applies to every command of the batch.
func (f *forwarder) proposeBatch(ctx context.Context, id raft.ServerID, body []byte) ([]batchResult, error) {
	resp, err := f.do(ctx, id, http.MethodPost, pathProposeBatch, body)
	if err != nil {
		if errors.Is(err, raftstore.ErrNotLeader) || errors.Is(err, raftstore.ErrNoLeader) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: forward to %s: %v", raftstore.ErrUnknownOutcome, id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, errBatchUnsupported
	}
	if resp.StatusCode != http.StatusOK {
		return nil, remoteError(resp)
	}
	var out struct {
		Results []batchResult `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: decode leader reply: %v", raftstore.ErrUnknownOutcome, err)
	}
	return out.Results, nil
}
