package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

// newDashboardCmd prints a one-time sign-in link to the dashboard for the
// token the client commands use.
func newDashboardCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Print a one-time sign-in link to the dashboard (good for one minute)",
		Long: "Print a one-time sign-in link to the dashboard that the server serves at /ui/.\n" +
			"The link carries a code, not the token; the code works once, within a minute.",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd, e)
			if err != nil {
				return err
			}
			var out struct {
				Path    string `json:"path"`
				Expires string `json:"expires"`
			}
			if err := c.doJSON(cmd.Context(), http.MethodPost, "/ui/links", nil, &out); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.stdout, "%s%s\n(one use, until %s)\n", c.base, out.Path, out.Expires)
			return err
		},
	}
	addClientFlags(cmd)
	return cmd
}
