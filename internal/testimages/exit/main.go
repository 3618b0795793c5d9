// Command exit is the test image of a job: it prints a line, waits $DELAY
// (a Go duration, default 0) and exits with $EXIT_CODE (default 0). It
// imports only the standard library: testimages builds it from its
// embedded source.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	code, err := strconv.Atoi(os.Getenv("EXIT_CODE"))
	if err != nil && os.Getenv("EXIT_CODE") != "" {
		fmt.Fprintf(os.Stderr, "exit: EXIT_CODE %q: %v\n", os.Getenv("EXIT_CODE"), err)
		os.Exit(125)
	}
	delay, err := time.ParseDuration(os.Getenv("DELAY"))
	if err != nil && os.Getenv("DELAY") != "" {
		fmt.Fprintf(os.Stderr, "exit: DELAY %q: %v\n", os.Getenv("DELAY"), err)
		os.Exit(125)
	}
	fmt.Printf("exit: started, exiting with %d after %s\n", code, delay)
	time.Sleep(delay)
	fmt.Printf("exit: exiting with %d\n", code)
	os.Exit(code)
}
