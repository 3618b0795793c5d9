package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffhq/skiff/apiserver"
	"github.com/skiffhq/skiff/apiserver/apitest"
	"github.com/skiffhq/skiff/fsm"
)

// blockingStore holds proposals, once armed, until released: a write the
// test keeps in flight.
type blockingStore struct {
	*apitest.LocalStore
	armed   atomic.Bool
	entered chan struct{} // a proposal is being held
	release chan struct{} // closed to let held proposals through
}

func (s *blockingStore) Propose(ctx context.Context, cmd *fsm.Command) (fsm.Result, error) {
	if s.armed.Load() {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-s.release:
		case <-ctx.Done():
			return fsm.Result{}, ctx.Err()
		}
	}
	return s.LocalStore.Propose(ctx, cmd)
}

// TestMutatingInFlightLimit holds one create in flight with
// MaxMutatingInFlight 1 and checks that a second write gets 429 with
// Retry-After and a Status, that reads still go through, and that the
// slot frees once the first create completes.
func TestMutatingInFlightLimit(t *testing.T) {
	st := &blockingStore{LocalStore: apitest.NewLocalStore(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := apitest.Serve(t, apiserver.Config{Store: st, Admission: apitest.Admission(), MaxMutatingInFlight: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	send := func(method, path, body string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	const cms = "/api/v1/namespaces/default/configmaps"
	cm := func(name string) string {
		return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"}}`
	}

	st.armed.Store(true)
	first := make(chan int, 1)
	go func() {
		// The request runs on its own goroutine; its result is checked on
		// the test's.
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+cms, strings.NewReader(cm("held")))
		req.Header.Set("Content-Type", "application/json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	select {
	case <-st.entered:
	case <-ctx.Done():
		t.Fatal("the first create never reached the store")
	}

	resp, body := send(http.MethodPost, cms, cm("refused"))
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second create: %d %s, want 429", resp.StatusCode, body)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	var status struct {
		Kind, Status, Reason string
		Code                 int
	}
	if err := json.Unmarshal(body, &status); err != nil || status.Kind != "Status" || status.Reason != "TooManyRequests" || status.Code != 429 {
		t.Errorf("429 body %s (%v), want a TooManyRequests Status", body, err)
	}
	if resp, body := send(http.MethodDelete, cms+"/held", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("delete while the create is held: %d %s, want 429", resp.StatusCode, body)
	}
	if resp, body := send(http.MethodGet, cms, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("list while the create is held: %d %s, want 200 (reads have their own limit)", resp.StatusCode, body)
	}

	st.armed.Store(false)
	close(st.release)
	select {
	case code := <-first:
		if code != http.StatusCreated {
			t.Fatalf("held create: %d, want 201", code)
		}
	case <-ctx.Done():
		t.Fatal("the held create did not finish")
	}
	if resp, body := send(http.MethodPost, cms, cm("after")); resp.StatusCode != http.StatusCreated {
		t.Errorf("create after the slot freed: %d %s, want 201", resp.StatusCode, body)
	}
}
