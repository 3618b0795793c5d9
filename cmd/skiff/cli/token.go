package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/config"
)

// tokenInfo mirrors the server's description of an issued token.
type tokenInfo struct {
	ID          string    `json:"id"`
	Role        string    `json:"role"`
	Node        string    `json:"node,omitempty"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Token       string    `json:"token,omitempty"`
}

func newTokenCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Issue, list and revoke API tokens",
	}
	addClientFlags(cmd)
	create := &cobra.Command{
		Use:   "create --role admin|read-only|node [--node NAME] [--description TEXT]",
		Short: "Issue a token; it is printed once and stored only as a hash",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			role, _ := cmd.Flags().GetString("role")
			node, _ := cmd.Flags().GetString("node")
			desc, _ := cmd.Flags().GetString("description")
			if role == "" {
				return fmt.Errorf("--role is required: admin, read-only or node")
			}
			c, err := newAPIClient(cmd, e)
			if err != nil {
				return err
			}
			var resp tokenInfo
			req := map[string]string{"role": role, "node": node, "description": desc}
			if err := c.doJSON(cmd.Context(), http.MethodPost, operatorPath+"/tokens", req, &resp); err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, resp.Token)
			return err
		},
	}
	create.Flags().String("role", "", "admin, read-only or node")
	create.Flags().String("node", "", "the node a node token acts as")
	create.Flags().String("description", "", "what the token is for")
	cmd.AddCommand(create,
		&cobra.Command{
			Use:   "list",
			Short: "List issued tokens (never their secrets)",
			Args:  exactArgs(0),
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := newAPIClient(cmd, e)
				if err != nil {
					return err
				}
				var resp struct {
					Tokens []tokenInfo `json:"tokens"`
				}
				if err := c.doJSON(cmd.Context(), http.MethodGet, operatorPath+"/tokens", nil, &resp); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tROLE\tNODE\tCREATED\tDESCRIPTION")
				for _, t := range resp.Tokens {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Node, t.Created.Format(time.RFC3339), t.Description)
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "fingerprint < TOKEN-FILE",
			Short: "Print the fingerprint of each cluster token read from standard input, one a line",
			Long: `Print the fingerprint of each cluster token read from standard input, one
token a line, as servers report them ('skiff cluster tokens'). Tokens are read
from standard input so that they appear in no command line. Nothing is sent
to a server.`,
			Args: exactArgs(0),
			RunE: func(cmd *cobra.Command, _ []string) error {
				return printFingerprints(e)
			},
		},
		&cobra.Command{
			Use:   "revoke ID",
			Short: "Revoke a token; every server refuses it from then on",
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newAPIClient(cmd, e)
				if err != nil {
					return err
				}
				if err := c.doJSON(cmd.Context(), http.MethodDelete, operatorPath+"/tokens/"+args[0], nil, nil); err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "revoked %s\n", args[0])
				return err
			},
		},
	)
	return cmd
}

// printFingerprints prints the fingerprint of every token on e.stdin, one
// a line; blank lines are skipped.
func printFingerprints(e env) error {
	in := e.stdin
	if in == nil {
		in = strings.NewReader("")
	}
	sc := bufio.NewScanner(in)
	n := 0
	for line := 1; sc.Scan(); line++ {
		tok := strings.TrimSpace(sc.Text())
		if tok == "" {
			continue
		}
		n++
		if len(tok) < config.MinTokenLen {
			return fmt.Errorf("line %d: a cluster token has at least %d characters, got %d", line, config.MinTokenLen, len(tok))
		}
		if _, err := fmt.Fprintln(e.stdout, auth.Fingerprint(tok)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	if n == 0 {
		return errors.New("no token on standard input: skiff token fingerprint < token-file")
	}
	return nil
}
