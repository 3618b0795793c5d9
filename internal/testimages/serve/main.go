// Command serve is the test image of a web server: it answers on $PORT
// (default 8080) with its hostname and pod name, and has health and
// readiness endpoints tests can flip at run time.
//
//	GET  /          "hostname=H pod=P version=V\n" (P from $POD_NAME, V from $VERSION)
//	GET  /healthz   200 "ok" while healthy, else 500
//	GET  /ready     200 "ready" while ready, else 503
//	POST /admin/healthy?v=false, /admin/ready?v=true   flip the two states
//
// Readiness starts true unless $READY=false, and is false while the file
// named by $NOT_READY_FILE exists. On SIGTERM it exits 0 after $TERM_DELAY
// (a Go duration, default 0), or ignores the signal when $IGNORE_TERM=1,
// so tests can observe grace periods. It imports only the standard library:
// testimages builds it from its embedded source.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host, _ := os.Hostname()
	var healthy, ready atomic.Bool
	healthy.Store(true)
	ready.Store(os.Getenv("READY") != "false")
	notReadyFile := os.Getenv("NOT_READY_FILE")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hostname=%s pod=%s version=%s\n", host, os.Getenv("POD_NAME"), os.Getenv("VERSION"))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		_, err := os.Stat(notReadyFile)
		if !ready.Load() || (notReadyFile != "" && err == nil) {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	flip := func(b *atomic.Bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			v, err := strconv.ParseBool(r.URL.Query().Get("v"))
			if err != nil {
				http.Error(w, "v must be true or false", http.StatusBadRequest)
				return
			}
			b.Store(v)
			fmt.Fprintln(w, v)
		}
	}
	mux.HandleFunc("POST /admin/healthy", flip(&healthy))
	mux.HandleFunc("POST /admin/ready", flip(&ready))

	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for range sigs {
			if os.Getenv("IGNORE_TERM") == "1" {
				log.Print("serve: ignoring SIGTERM")
				continue
			}
			delay, _ := time.ParseDuration(os.Getenv("TERM_DELAY"))
			log.Printf("serve: SIGTERM, exiting in %s", delay)
			time.Sleep(delay)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
			os.Exit(0)
		}
	}()
	log.Printf("serve: listening on :%s as %s", port, host)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatalf("serve: %v", err)
	}
	select {} // Shutdown returned ListenAndServe; the signal goroutine exits.
}
