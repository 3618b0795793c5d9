// Command crash is the test image of a program that fails while running:
// it prints a line each $TICK (default 100ms) for $DELAY (a Go duration,
// default 1s), then panics (exit status 2), as a crashing server would.
// It imports only the standard library: testimages builds it from its
// embedded source.
package main

import (
	"fmt"
	"os"
	"time"
)

func duration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crash: %s %q: %v\n", name, v, err)
		os.Exit(125)
	}
	return d
}

func main() {
	delay, tick := duration("DELAY", time.Second), duration("TICK", 100*time.Millisecond)
	fmt.Printf("crash: running, crashing in %s\n", delay)
	deadline := time.Now().Add(delay)
	for time.Now().Before(deadline) {
		fmt.Println("crash: still running")
		time.Sleep(min(tick, time.Until(deadline)))
	}
	panic("crash: crashing as asked")
}
