package testcluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/fsm/raftstore"
	"github.com/skiffhq/skiff/gossip"
	"github.com/skiffhq/skiff/testcluster"
)

// testContext returns a context that ends after d or when the test ends,
// whichever comes first.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// node returns the Raft replica of running server i, failing the test if
// the server is down.
func node(t *testing.T, c *testcluster.Cluster, i int) *raftstore.Replica {
	t.Helper()
	s := c.Server(i)
	if s == nil {
		t.Fatalf("server %d is not running", i)
	}
	return s.Replica()
}

// propose sends cmd through n with its own deadline and folds a failed
// condition into the error. An error wrapping raftstore.ErrUnknownOutcome
// means the command may or may not have been applied.
func propose(ctx context.Context, n *raftstore.Replica, cmd *fsm.Command) (fsm.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := n.Propose(ctx, cmd)
	if err != nil {
		return res, err
	}
	return res, res.Err()
}

// mustPut writes key=value through n and returns the write's revision.
func mustPut(t *testing.T, ctx context.Context, n *raftstore.Replica, key, value string) uint64 {
	t.Helper()
	res, err := propose(ctx, n, &fsm.Command{Op: fsm.OpPut, Key: key, Value: []byte(value)})
	if err != nil {
		t.Fatalf("put %s through %s: %v", key, n.ID(), err)
	}
	return res.Rev
}

// linearGet reads key from n after a linearizable barrier.
func linearGet(ctx context.Context, n *raftstore.Replica, key string) (fsm.KV, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.Linearize(ctx); err != nil {
		return fsm.KV{}, false, fmt.Errorf("linearize on %s: %w", n.ID(), err)
	}
	kv, ok, _ := n.Store().Get(key)
	return kv, ok, nil
}

// leaderAmong waits until exactly one of the servers idxs claims
// leadership and returns it. Unlike Cluster.Leader it ignores servers
// outside idxs, such as a partitioned old leader that still believes it
// leads.
func leaderAmong(ctx context.Context, c *testcluster.Cluster, idxs ...int) (int, error) {
	leader := -1
	err := testcluster.WaitFor(ctx, func() bool {
		leader = -1
		for _, i := range idxs {
			s := c.Server(i)
			if s == nil || !s.Replica().IsLeader() {
				continue
			}
			if leader >= 0 {
				return false
			}
			leader = i
		}
		return leader >= 0
	})
	return leader, err
}

// others returns the servers of [0, n) other than those in except.
func others(n int, except ...int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if !slices.Contains(except, i) {
			out = append(out, i)
		}
	}
	return out
}

// requireConverged waits until every running server has applied the same
// revision, then checks that they all hold the same data. It returns that
// revision. The servers must not be taking writes.
func requireConverged(t *testing.T, ctx context.Context, c *testcluster.Cluster) uint64 {
	t.Helper()
	running := c.Running()
	for _, i := range running {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := node(t, c, i).Linearize(lctx)
		cancel()
		if err != nil {
			t.Fatalf("server %d: linearize: %v", i, err)
		}
	}
	type hash struct {
		rev uint64
		sum [32]byte
	}
	var hashes []hash
	err := testcluster.WaitFor(ctx, func() bool {
		hashes = hashes[:0]
		for _, i := range running {
			rev, sum := node(t, c, i).Store().Hash()
			hashes = append(hashes, hash{rev, sum})
		}
		for _, h := range hashes[1:] {
			if h.rev != hashes[0].rev {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("servers %v never reached the same revision (last %+v): %v", running, hashes, err)
	}
	for k, h := range hashes[1:] {
		if h.sum != hashes[0].sum {
			t.Fatalf("servers %d and %d differ at revision %d: hash %x vs %x", running[0], running[k+1], h.rev, hashes[0].sum, h.sum)
		}
	}
	return hashes[0].rev
}

// reconcileWindow spans a few runs of a leader's membership reconcile,
// which runs on every gossip change and at least once a second.
const reconcileWindow = 2500 * time.Millisecond

// requireStays checks cond every 10ms for d and fails the test the first
// time it reports an error. It is for properties that no event confirms,
// such as "the leader never adds this server"; d bounds the watch.
func requireStays(t *testing.T, ctx context.Context, d time.Duration, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var failure error
	testcluster.WaitFor(ctx, func() bool {
		failure = cond()
		return failure != nil
	})
	if failure != nil {
		t.Fatal(failure)
	}
}

// kubeStatus is the Kubernetes Status body of every API error.
type kubeStatus struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	Code       int    `json:"code"`
}

// requireStatus checks that body is a Status with the given code.
func requireStatus(t *testing.T, what string, code int, body []byte) kubeStatus {
	t.Helper()
	var st kubeStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("%s: body is not a Status: %v: %q", what, err, body)
	}
	if st.Kind != "Status" || st.Code != code || st.Status != "Failure" || st.Message == "" {
		t.Fatalf("%s: got Status %+v, want kind Status, code %d, a message", what, st, code)
	}
	return st
}

// observeGossip joins the cluster's gossip as a worker-role member, which
// the servers never add to Raft, so that a test can see gossip membership
// the way the servers do.
func observeGossip(t *testing.T, c *testcluster.Cluster) *gossip.Agent {
	t.Helper()
	a := startGossip(t, "observer", c.Token())
	if err := a.Join(testContext(t, 10*time.Second), gossipSeeds(c)); err != nil {
		t.Fatalf("observer join: %v", err)
	}
	return a
}

// gossipNames returns the names of the members a sees.
func gossipNames(a *gossip.Agent) []string {
	var out []string
	for _, m := range a.Members() {
		out = append(out, m.Meta.Name)
	}
	return out
}

// raftIDs returns the IDs in n's latest Raft configuration.
func raftIDs(n *raftstore.Replica) ([]string, error) {
	servers, err := n.Servers()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range servers {
		if !s.Voter {
			return nil, fmt.Errorf("server %s is not a voter", s.ID)
		}
		out = append(out, string(s.ID))
	}
	slices.Sort(out)
	return out, nil
}

// errUnknown reports whether err leaves a write's outcome open.
func errUnknown(err error) bool { return errors.Is(err, raftstore.ErrUnknownOutcome) }
