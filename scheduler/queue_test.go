package scheduler

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
)

// fakeClock is a settable clock for queue and cache tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Unix(1000, 0)} }
func popNow(t *testing.T, q *queue) *queueItem {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // pop returns at once when nothing is active
	q.mu.Lock()
	n := q.active.Len()
	q.mu.Unlock()
	if n == 0 {
		return nil
	}
	return q.pop(ctx)
}

// TestQueueOrder checks higher priority first, then first come first
// served.
func TestQueueOrder(t *testing.T) {
	q := newQueue(newFakeClock().now)
	q.add(pod("low-1", 0, 0, priority(1)), false)
	q.add(pod("high", 0, 0, priority(100)), false)
	q.add(pod("low-2", 0, 0, priority(1)), false)
	q.add(pod("none", 0, 0), false)
	var got []string
	for it := popNow(t, q); it != nil; it = popNow(t, q) {
		got = append(got, it.attempt.Name)
	}
	want := []string{"high", "low-1", "low-2", "none"}
	if len(got) != len(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

// TestQueueBackoff checks an unschedulable pod waits for a cluster event,
// then for its back-off (1s doubling to 10s), and is never handed out
// again before that.
func TestQueueBackoff(t *testing.T) {
	clk := newFakeClock()
	q := newQueue(clk.now)
	q.add(pod("p", 0, 0), false)
	wantBackoff := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i, b := range wantBackoff {
		it := popNow(t, q)
		if it == nil {
			t.Fatalf("attempt %d: nothing to pop", i+1)
		}
		q.done(it, outcomeUnschedulable)
		clk.step(time.Hour / 100) // 36s: past any back-off, yet no event
		q.flush()
		if popNow(t, q) != nil {
			t.Fatalf("attempt %d: popped without a cluster event", i+1)
		}
		clk.t = it.last // back to the attempt
		q.moveAll()
		clk.step(b - time.Millisecond)
		q.flush()
		if popNow(t, q) != nil {
			t.Fatalf("attempt %d: popped before its %v back-off", i+1, b)
		}
		clk.step(time.Millisecond)
		q.flush()
		q.mu.Lock()
		active := q.active.Len()
		q.mu.Unlock()
		if active != 1 {
			t.Fatalf("attempt %d: not active after its %v back-off", i+1, b)
		}
	}
}

// TestQueueEventDuringAttempt checks a cluster event while a pod is being
// scheduled is not lost: the pod goes to back-off, not to the wait.
func TestQueueEventDuringAttempt(t *testing.T) {
	clk := newFakeClock()
	q := newQueue(clk.now)
	q.add(pod("p", 0, 0), false)
	it := popNow(t, q)
	q.moveAll() // a node was added while "p" was being placed
	q.done(it, outcomeUnschedulable)
	if got := q.len()[stateBackoff]; got != 1 {
		t.Fatalf("states %v, want the pod in back-off", q.len())
	}
	clk.step(maxUnschedulableWait)
	q.flush()
	if popNow(t, q) == nil {
		t.Fatal("pod not retried after its back-off")
	}
}

// TestQueueRemoveInFlight checks a pod deleted while in flight is not
// put back.
func TestQueueRemoveInFlight(t *testing.T) {
	q := newQueue(newFakeClock().now)
	q.add(pod("p", 0, 0), false)
	it := popNow(t, q)
	q.remove(it.key)
	q.done(it, outcomeError)
	if n := len(q.len()); n != 0 {
		t.Fatalf("queue holds %v after the pod was deleted", q.len())
	}
}

// TestCacheAssume checks an assumption counts at once, is confirmed by
// the informer, is dropped when its bind fails, and expires when the
// informer never confirms it.
func TestCacheAssume(t *testing.T) {
	clk := newFakeClock()
	c := newCache(30*time.Second, clk.now)
	c.setNode(node("n", 1000, 1024))
	p := NewPlacer(rand.New(rand.NewPCG(1, 1)))
	place := func(name string) (Decision, error) { return c.place(p, NewPodInfo(pod(name, 600, 0))) }

	if _, err := place("a"); err != nil {
		t.Fatal(err)
	}
	if _, err := place("b"); err == nil {
		t.Fatal("second pod placed: the first one's assumption did not count")
	}
	c.forget("default/a") // bind failed
	if _, err := place("b"); err != nil {
		t.Fatalf("room not freed by forget: %v", err)
	}
	c.bindDone("default/b")
	clk.step(31 * time.Second)
	if n := c.expire(); n != 1 {
		t.Fatalf("expire dropped %d, want the unconfirmed b", n)
	}
	if _, err := place("c"); err != nil {
		t.Fatal(err)
	}
	c.bindDone("default/c")
	c.setBoundPod(pod("c", 600, 0, onNode("n"))) // the informer confirms
	clk.step(time.Hour)
	if n := c.expire(); n != 0 {
		t.Fatalf("expire dropped a confirmed pod")
	}
	if c.isAssumed("default/c") {
		t.Fatal("confirmed pod still assumed")
	}
	if _, err := place("d"); err == nil {
		t.Fatal("confirmed pod no longer counted")
	}
	c.setBoundPod(func() *v1.Pod { p := pod("c", 600, 0, onNode("n")); p.Status.Phase = "Succeeded"; return p }())
	if _, err := place("d"); err != nil {
		t.Fatalf("a finished pod still holds its room: %v", err)
	}
}
