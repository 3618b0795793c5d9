package proc

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func configMap(name, value string) string {
	return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"},"data":{"v":"` + value + `"}}`
}

// TestClusterProcesses starts three server processes, writes through a
// follower, kills the leader with SIGKILL, and checks that the survivors
// elect a leader, take writes, and that all three converge after the
// killed server restarts.
func TestClusterProcesses(t *testing.T) {
	SkipUnlessSupported(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(ctx, Options{Binary: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	follower := (leader + 1) % c.N()
	const cms = "/api/v1/namespaces/default/configmaps"
	if code, body, err := c.Do(ctx, follower, http.MethodPost, cms, strings.NewReader(configMap("a", "1"))); err != nil || code != http.StatusCreated {
		t.Fatalf("create through follower: %d %v %s", code, err, body)
	}
	c.Kill(leader)
	next, err := c.Leader(ctx)
	if err != nil || next == leader {
		t.Fatalf("leader after kill: %d %v", next, err)
	}
	if code, body, err := c.Do(ctx, next, http.MethodPost, cms, strings.NewReader(configMap("b", "2"))); err != nil || code != http.StatusCreated {
		t.Fatalf("create after kill: %d %v %s", code, err, body)
	}
	if err := c.StartServer(leader); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, leader); err != nil {
		t.Fatal(err)
	}
	code, body, err := c.Do(ctx, leader, http.MethodGet, cms+"/b", nil)
	if err != nil || code != http.StatusOK || !strings.Contains(string(body), `"v":"2"`) {
		t.Fatalf("read on restarted server: %d %v %s", code, err, body)
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}

	// Partitioned from its peers, a leader is replaced and serves no
	// linearizable read, though the test still reaches it.
	leader, err = c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Partition(leader)
	err = poll(ctx, func() error {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		code, _, err := c.Do(rctx, leader, http.MethodGet, cms+"/b", nil)
		if err == nil && code == http.StatusOK {
			return errors.New("partitioned leader still serves reads")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Heal()

	// Isolated, a server answers nothing; healed, it serves again.
	c.Isolate(follower, true)
	rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _, err = c.Do(rctx, follower, http.MethodGet, "/readyz", nil)
	rcancel()
	if err == nil {
		t.Fatal("isolated server answered")
	}
	c.Heal()
	if err := c.WaitReady(ctx, c.All()...); err != nil {
		t.Fatal(err)
	}
}
