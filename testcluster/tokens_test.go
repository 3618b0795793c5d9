package testcluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiffhq/skiff/server"
	"github.com/skiffhq/skiff/testcluster"
)

// TestTokenLifecycle issues a read-only token through the operator API,
// uses it on every server, and revokes it: within a second every server
// refuses it.
func TestTokenLifecycle(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, body, err := c.Do(ctx, 1, "POST", "/skiff/v1/operator/tokens", strings.NewReader(`{"role":"read-only","description":"dashboards"}`))
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create: %v %d %s", err, code, body)
	}
	var info server.TokenInfo
	if err := json.Unmarshal(body, &info); err != nil || info.Token == "" || info.Role != "read-only" {
		t.Fatalf("create answer: %v %+v", err, info)
	}
	works := func(i int) bool {
		code, _ := send(t, ctx, c, "GET", c.URL(i)+"/api/v1/namespaces", info.Token, nil)
		return code == http.StatusOK
	}
	if err := c.WaitFor(ctx, func() bool { return works(0) && works(1) && works(2) }); err != nil {
		t.Fatalf("new token not accepted everywhere: %v", err)
	}
	code, body, err = c.Do(ctx, 0, "GET", "/skiff/v1/operator/tokens", nil)
	if err != nil || code != http.StatusOK || !strings.Contains(string(body), info.ID) || strings.Contains(string(body), info.Token) || strings.Contains(string(body), `"hash"`) {
		t.Fatalf("list: %v %d %s", err, code, body)
	}
	code, body, err = c.Do(ctx, 2, "DELETE", "/skiff/v1/operator/tokens/"+info.ID, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("revoke: %v %d %s", err, code, body)
	}
	revoked := time.Now()
	rctx, rcancel := context.WithTimeout(ctx, time.Second)
	defer rcancel()
	if err := c.WaitFor(rctx, func() bool { return !works(0) && !works(1) && !works(2) }); err != nil {
		t.Fatalf("revoked token still accepted somewhere after %v", time.Since(revoked))
	}
	if code, _, _ := c.Do(ctx, 0, "DELETE", "/skiff/v1/operator/tokens/"+info.ID, nil); code != http.StatusNotFound {
		t.Fatalf("second revoke: %d, want 404", code)
	}
	for _, bad := range []string{`{"role":"cluster"}`, `{"role":"node"}`, `{"role":"root"}`, `not json`} {
		if code, body, _ := c.Do(ctx, 0, "POST", "/skiff/v1/operator/tokens", strings.NewReader(bad)); code != http.StatusBadRequest {
			t.Errorf("create %s: %d %s, want 400", bad, code, body)
		}
	}
}
