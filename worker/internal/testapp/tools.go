package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

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
