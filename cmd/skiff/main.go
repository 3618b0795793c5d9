// Command skiff runs Skiff servers and talks to their operator API. See the
// cli package for the commands.
package main

import (
	"os"

	"github.com/skiffhq/skiff/cmd/skiff/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], os.Stdout, os.Stderr))
}
