// Command demo is the web app of Skiff's tour (examples/demo/README.md): a
// page showing which pod answered and which version it runs, and a
// /healthz endpoint for the readiness probe. `make demo-image` packs it
// into bin/demo-image.tar (skiff.local/demo:v1) and bin/demo-image-v2.tar.
package main

import (
	"context"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><title>Skiff demo {{.Version}}</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>Hello from Skiff</h1>
<p>Served by pod <b>{{.Host}}</b>, version <b>{{.Version}}</b>.</p>
<p>Reload to see the Service spread requests across the replicas.</p>
</body></html>
`))

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	version := os.Getenv("VERSION")
	if version == "" {
		version = "dev"
	}
	host, _ := os.Hostname()
	drain := 3 * time.Second
	if v := os.Getenv("DRAIN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			log.Fatalf("demo: DRAIN_DELAY %q: want a duration such as 3s", v)
		}
		drain = d
	}

	var draining atomic.Bool
	srv := &http.Server{Addr: ":" + port, Handler: newMux(host, version, &draining), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// SIGTERM comes as the pod starts terminating, while the
		// Service's proxies on every node may still send new
		// connections here until they see the endpoint go. Keep
		// serving (failing /healthz) for DRAIN_DELAY so that no request
		// is refused during a rolling update, then finish the requests
		// in flight; the pod's grace period (30 s) bounds both.
		draining.Store(true)
		log.Printf("demo: draining for %s", drain)
		<-time.After(drain)
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("demo %s listening on :%s as %s", version, port, host)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatalf("demo: %v", err)
	}
}

// newMux serves the page, /healthz (the readiness probe's target: 503
// once draining is set) and /version ("VERSION HOSTNAME", for scripts
// watching a rolling update).
func newMux(host, version string, draining *atomic.Bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if err := page.Execute(w, struct{ Host, Version string }{host, version}); err != nil {
			log.Printf("demo: render: %v", err)
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s\n", version, host)
	})
	return mux
}
