// Command testapp is the program the worker's integration tests run in
// their containers. Environment variables choose what it does:
//
//	PORT         serve HTTP here: / answers "hello from $HOSTNAME",
//	             /env/NAME answers $NAME, /ready answers 200 once
//	             READY_AFTER has passed and 503 before, /healthz answers
//	             200 until HEALTHY_FOR has passed and 500 after
//	EXIT_AFTER   exit after this duration with EXIT_CODE (default 1)
//	TERM_DELAY   on SIGTERM, log "got SIGTERM" and exit 0 after this delay
//	LOG_LINES    print this many numbered lines at start
//
// Run with arguments (as exec runs it), it is a tool instead:
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
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
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

// tool runs one of the exec tools and returns the exit code.
func tool(name string, args []string) int {
	switch name {
	case "echo":
		fmt.Println(strings.Join(args, " "))
		fmt.Fprintln(os.Stderr, "to stderr")
	case "exit":
		code, _ := strconv.Atoi(args[0])
		return code
	case "cat":
		io.Copy(os.Stdout, os.Stdin)
		fmt.Println("EOF")
	case "tty":
		if !term.IsTerminal(0) {
			fmt.Println("not a terminal")
			return 0
		}
		w, h := termSize(5 * time.Second)
		fmt.Printf("terminal %dx%d\n", w, h)
	case "winch":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGWINCH)
		w0, h0 := termSize(5 * time.Second)
		fmt.Printf("terminal %dx%d\n", w0, h0)
		deadline := time.After(5 * time.Second)
		for {
			select {
			case <-sigs:
				if w, h, err := term.GetSize(0); err == nil && (w != w0 || h != h0) {
					fmt.Printf("resized %dx%d\n", w, h)
					return 0
				}
			case <-deadline:
				fmt.Println("no resize")
				return 1
			}
		}
	case "alloc":
		n, _ := strconv.Atoi(args[0])
		var keep [][]byte
		for i := 1; i <= n; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
			if i%16 == 0 {
				fmt.Printf("allocated %d MiB\n", i)
			}
		}
		fmt.Printf("allocated %d MiB in all\n", len(keep))
	default:
		fmt.Fprintf(os.Stderr, "unknown tool %q\n", name)
		return 127
	}
	return 0
}

// termSize returns stdin's terminal size once it has one, or whatever it
// has after wait.
func termSize(wait time.Duration) (int, int) {
	deadline := time.Now().Add(wait)
	for {
		w, h, err := term.GetSize(0)
		if (err == nil && w > 0) || time.Now().After(deadline) {
			return w, h
		}
		time.Sleep(20 * time.Millisecond)
	}
}
