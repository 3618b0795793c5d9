package testcluster_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/fsm"
	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// leaderRun is one run of the probe component: the term it started in,
// whether its context has ended, and the client it was given.
type leaderRun struct {
	term   uint64
	ended  chan struct{}
	client kubernetes.Interface
}

// probe is a leader component that records its runs and writes one
// ConfigMap per run through the client it was given.
type probe struct {
	mu   sync.Mutex
	runs []*leaderRun
}

func (p *probe) component() server.Option {
	return server.WithLeaderComponent(server.LeaderComponent{
		Name: "probe",
		New: func(c *server.LeaderClients) (server.Runnable, error) {
			return server.RunnableFunc(func(ctx context.Context) error {
				run := &leaderRun{term: c.Term, ended: make(chan struct{}), client: c.Kube}
				p.mu.Lock()
				p.runs = append(p.runs, run)
				p.mu.Unlock()
				defer close(run.ended)
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("probe-term-%d", c.Term), Namespace: "default"}}
				// A new cluster's namespace default may not exist yet: the
				// runner creates it beside the components.
				testcluster.WaitFor(ctx, func() bool {
					_, err := c.Kube.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
					return err == nil || apierrors.IsAlreadyExists(err)
				})
				<-ctx.Done()
				return nil
			}), nil
		},
	})
}

func (p *probe) snapshot() []*leaderRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*leaderRun(nil), p.runs...)
}

// startWithProbe starts a three-server cluster whose servers each run the
// probe as a leader component.
func startWithProbe(t *testing.T) (*testcluster.Cluster, *probe) {
	p := &probe{}
	c := testcluster.Start(t, testcluster.Options{ServerOptions: []server.Option{p.component()}})
	return c, p
}

func TestLeaderComponentsRunOnlyOnTheLeaderAndStopWithItsTerm(t *testing.T) {
	c, p := startWithProbe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	term := c.Server(leader).Replica().Raft().CurrentTerm()
	if err := c.WaitFor(ctx, func() bool { return len(p.snapshot()) == 1 }); err != nil {
		t.Fatalf("no component run started on the leader: %v", err)
	}
	first := p.snapshot()[0]
	if first.term != term {
		t.Fatalf("component started in term %d, leader's term is %d", first.term, term)
	}
	admin := kubeClients(t, c)[leader]
	if err := c.WaitFor(ctx, func() bool {
		_, err := admin.CoreV1().ConfigMaps("default").Get(ctx, fmt.Sprintf("probe-term-%d", term), metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("the component's write did not land: %v", err)
	}

	if err := c.Server(leader).Replica().TransferLeadership(""); err != nil {
		t.Fatalf("transfer leadership: %v", err)
	}
	select {
	case <-first.ended:
	case <-ctx.Done():
		t.Fatal("the old leader's component kept running after leadership moved")
	}
	if err := c.WaitFor(ctx, func() bool { return len(p.snapshot()) == 2 }); err != nil {
		t.Fatalf("no component run started on the new leader: %v", err)
	}
	second := p.snapshot()[1]
	if second.term <= first.term {
		t.Fatalf("second run's term %d is not after the first's %d", second.term, first.term)
	}
	// The first run's credential died with its term.
	_, err = first.client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("a deposed component's client: err = %v, want 401", err)
	}
	if n := len(p.snapshot()); n != 2 {
		t.Fatalf("%d component runs, want 2 (one per leadership)", n)
	}
}

// TestFencedWriteCommittedInALaterTermIsRefused proposes, from a server
// that led in term N, a write fenced to N after leadership has moved on: it
// is forwarded to the new leader, committed in a later term, and refused on
// every replica. An unfenced write through the same path succeeds.
func TestFencedWriteCommittedInALaterTermIsRefused(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldNode := c.Server(old).Replica()
	term := oldNode.Raft().CurrentTerm()
	if err := oldNode.TransferLeadership(""); err != nil {
		t.Fatalf("transfer leadership: %v", err)
	}
	if err := c.WaitFor(ctx, func() bool {
		l, err := c.Leader(ctx)
		return err == nil && l != old
	}); err != nil {
		t.Fatal(err)
	}

	res, err := oldNode.Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: "/registry/test/fenced", Value: []byte("stale"), Term: term})
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	if res.Code != fsm.CodeFenced || !errors.Is(res.Err(), fsm.ErrFenced) || res.Term <= term {
		t.Fatalf("fenced write: result %+v (%v); want CodeFenced in a term after %d", res, res.Err(), term)
	}
	for _, i := range c.Running() {
		if err := c.WaitFor(ctx, func() bool { return c.Server(i).Replica().Store().Rev() >= res.Rev }); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := c.Server(i).Replica().Store().Get("/registry/test/fenced"); found {
			t.Fatalf("server %d stored a fenced write", i)
		}
	}

	res, err = oldNode.Propose(ctx, &fsm.Command{Op: fsm.OpPut, Key: "/registry/test/unfenced", Value: []byte("user")})
	if err != nil || res.Code != fsm.CodeOK {
		t.Fatalf("unfenced write: %+v, %v", res, err)
	}
}

func TestSystemNamespacesCannotBeDeletedAndComeBack(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc := kubeClients(t, c)[0]
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		err := kc.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("delete namespace %s: err = %v, want 403", ns, err)
		}
	}
	// Below the API (a restored snapshot can lack them too), the leader
	// puts a missing system namespace back, and readiness of a running
	// server never waits on it.
	for _, i := range c.Running() {
		if code, body, err := c.Do(ctx, i, http.MethodGet, "/readyz", nil); err != nil || code != http.StatusOK {
			t.Fatalf("server %d /readyz: %d %s %v", i, code, body, err)
		}
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Server(leader).Replica().Propose(ctx, &fsm.Command{Op: fsm.OpDelete, Key: "/registry/namespaces/default"}); err != nil {
		t.Fatal(err)
	}
	for _, i := range c.Running() {
		code, body, err := c.Do(ctx, i, http.MethodGet, "/readyz", nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("server %d /readyz without the default namespace: %d %s %v", i, code, body, err)
		}
	}
	if err := c.WaitFor(ctx, func() bool {
		_, err := kc.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	}); err != nil {
		t.Fatalf("the leader did not restore namespace default: %v", err)
	}
}
