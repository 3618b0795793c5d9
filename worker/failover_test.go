package worker

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFailoverMovesToALiveServer(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer live.Close()
	// A port nothing listens on: bind, note, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	set := newServerSet([]string{"http://" + dead, live.URL})
	hc := &http.Client{Transport: &failover{next: http.DefaultTransport, set: set}}
	for range 3 {
		resp, err := hc.Post("http://"+dead+"/x", "text/plain", strings.NewReader("body"))
		if err != nil {
			t.Fatalf("request through failover: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("answer %q", b)
		}
	}
	if cur, _ := set.current(); cur != strings.TrimPrefix(live.URL, "http://") {
		t.Errorf("current server %s, want the live one", cur)
	}
}

func TestFailoverKeepsCurrentWhenListChanges(t *testing.T) {
	set := newServerSet([]string{"https://a:1", "https://b:1"})
	set.advance("a:1")
	set.setServers([]string{"https://c:1", "https://b:1"})
	if cur, n := set.current(); cur != "b:1" || n != 2 {
		t.Errorf("current %s of %d, want b:1 of 2", cur, n)
	}
}
