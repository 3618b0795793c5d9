package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
)

// regenerate is the command that rewrites the reference; tests and the
// file's header name it.
const regenerate = "make docs"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// run writes the reference to the -o file, or to stdout without -o. The
// file is written only when its content changes, so `make docs` on an
// up-to-date tree touches nothing.
func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gendocs", flag.ContinueOnError)
	out := fs.String("o", "", "file to write (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	doc := Reference()
	if *out == "" {
		_, err := stdout.Write(doc)
		return err
	}
	if old, err := os.ReadFile(*out); err == nil && bytes.Equal(old, doc) {
		return nil
	}
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		return fmt.Errorf("write reference: %w", err)
	}
	return nil
}
