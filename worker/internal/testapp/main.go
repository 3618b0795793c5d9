// Command testapp is the program the worker's integration tests run in
// their containers. Environment variables choose what it does:
//
//	PORT         serve HTTP here: / answers "hello from $HOSTNAME",
//	             /env/NAME answers $NAME, /ready answers 200 once
//	             READY_AFTER has passed and 503 before, /healthz answers
//	             200 until HEALTHY_FOR has passed and 500 after,
//	             /resolve/NAME answers NAME's addresses from the pod's
//	             resolver (/etc/resolv.conf), one a line, or 404 with the
//	             error, /file?path=P answers the file P
//	EXIT_AFTER   exit after this duration with EXIT_CODE (default 1)
//	TERM_DELAY   on SIGTERM, log "got SIGTERM" and exit 0 after this delay
//	LOG_LINES    print this many numbered lines at start
//	HOLD_MIB     allocate this many MiB at start, touch every page and
//	             keep them (a known memory working set)
//	SPIN         when "1", keep one CPU busy (a known CPU usage)
//
// Run with arguments (as exec runs it), it is a tool instead (tools.go):
//
//	echo ARGS...  print ARGS, space-separated, and "to stderr" on stderr
//	exit CODE     exit with CODE
//	cat           copy stdin to stdout, then print "EOF"
//	tty           print whether stdin is a terminal and, once it has a
//	              size (up to 5 s), its size as WIDTHxHEIGHT
//	winch         as tty, then wait (up to 5 s) for the terminal to take
//	              another size and print it as "resized WIDTHxHEIGHT"
//	alloc MIB     allocate and touch MIB mebibytes, 1 MiB at a time,
//	              printing the total every 16 MiB, then exit 0 (a
//	              memory limit below MIB gets it OOM-killed first)
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func dur(name string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(name))
	return d
}

func main() {
	if len(os.Args) > 1 {
		os.Exit(tool(os.Args[1], os.Args[2:]))
	}
	start := time.Now()
	fmt.Println("testapp starting")
	n, _ := strconv.Atoi(os.Getenv("LOG_LINES"))
	for i := range n {
		fmt.Printf("line %d\n", i)
	}
	fmt.Fprintln(os.Stderr, "testapp stderr")
	held := hold(os.Getenv("HOLD_MIB"))
	// A goroutine that waits forever keeps held reachable.
	never := make(chan struct{})
	go func() {
		<-never
		runtime.KeepAlive(held)
	}()
	if os.Getenv("SPIN") == "1" {
		go spin()
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Println("got SIGTERM")
		time.Sleep(dur("TERM_DELAY"))
		os.Exit(0)
	}()
	if d := os.Getenv("EXIT_AFTER"); d != "" {
		go func() {
			time.Sleep(dur("EXIT_AFTER"))
			code, err := strconv.Atoi(os.Getenv("EXIT_CODE"))
			if err != nil {
				code = 1
			}
			fmt.Printf("exiting with %d\n", code)
			os.Exit(code)
		}()
	}
	if port := os.Getenv("PORT"); port != "" {
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "hello from %s", host) })
		http.HandleFunc("/env/{name}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getenv(r.PathValue("name"))) })
		http.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
			b, err := os.ReadFile(r.URL.Query().Get("path"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			w.Write(b)
		})
		http.HandleFunc("/resolve/{name}", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			addrs, err := net.DefaultResolver.LookupHost(ctx, r.PathValue("name"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			slices.Sort(addrs)
			fmt.Fprint(w, strings.Join(addrs, "\n"))
		})
		http.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
			if time.Since(start) < dur("READY_AFTER") {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
			if d := dur("HEALTHY_FOR"); d > 0 && time.Since(start) > d {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		if err := http.ListenAndServe(":"+port, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	select {}
}

// hold allocates mib MiB and writes every page, so they count in the
// container's working set.
func hold(mib string) []byte {
	n, _ := strconv.Atoi(mib)
	b := make([]byte, n<<20+1)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// spin keeps one CPU busy until the process ends.
func spin() {
	x := 0
	for {
		x++
	}
}
