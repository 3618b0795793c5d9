package cli

import (
	"fmt"

	"github.com/skiffhq/skiff/internal/buildinfo"
	"github.com/spf13/cobra"
)

func newVersionCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  exactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			v := buildinfo.Get()
			commit := ""
			if v.GitCommit != "" {
				commit = " (" + v.GitCommit + ")"
			}
			_, err := fmt.Fprintf(e.stdout, "skiff %s%s %s %s\n", v.GitVersion, commit, v.GoVersion, v.Platform)
			return err
		},
	}
}
