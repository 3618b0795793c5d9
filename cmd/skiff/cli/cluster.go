package cli

import (
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/server"
)

// raftServer is one member of the Raft configuration as the operator API
// reports it. APIAddress (host:port) is empty when the answering server
// does not know it, and from servers that predate the field.
type raftServer struct {
	ID         string `json:"id"`
	Address    string `json:"address"`
	APIAddress string `json:"api_address"`
	Voter      bool   `json:"voter"`
	Leader     bool   `json:"leader"`
	LastIndex  uint64 `json:"last_index"`
	Reachable  bool   `json:"reachable"`
	// Token and Accepted are fingerprints of the cluster tokens the
	// server uses and accepts; empty from an unreachable server.
	Token    string   `json:"token_fingerprint"`
	Accepted []string `json:"accepted_fingerprints"`
}

// getRaftServers fetches the operator API's list of the Raft group.
func getRaftServers(cmd *cobra.Command, e env) ([]raftServer, error) {
	c, err := newAPIClient(cmd, e)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Servers []raftServer `json:"servers"`
	}
	if err := c.doJSON(cmd.Context(), http.MethodGet, operatorPath+"/raft", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Servers, nil
}

// role names a member's part in the Raft group.
func (s raftServer) role() string {
	switch {
	case s.Leader:
		return "leader"
	case s.Voter:
		return "follower"
	default:
		return "non-voter"
	}
}

// raftRequest names the server an operation applies to; an empty ID lets
// the leader choose (transfer-leadership).
type raftRequest struct {
	ID string `json:"id,omitempty"`
}

func newClusterCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect and change the servers of the Raft group",
	}
	addClientFlags(cmd)
	cmd.AddCommand(
		newClusterHashCmd(e),
		&cobra.Command{
			Use:   "status",
			Short: "List the servers of the Raft group and the workers",
			Long: `List the servers of the Raft group (address, role, last log index, whether
the answering server reaches them), then the workers: every worker gossip
sees and every registered Node, with its address, gossip state ("alive",
or "gone" for a Node whose worker gossip no longer sees), its Ready
condition and how many pods that have not terminated are bound to it.`,
			Args: exactArgs(0),
			RunE: func(cmd *cobra.Command, _ []string) error {
				servers, err := getRaftServers(cmd, e)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tADDRESS\tROLE\tLAST-INDEX\tREACHABLE")
				for _, s := range servers {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.ID, s.Address, s.role(), s.LastIndex, yesNo(s.Reachable))
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				workers, note, err := getWorkers(cmd, e)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout)
				if len(workers) == 0 {
					_, err := fmt.Fprintln(e.stdout, "no workers")
					return err
				}
				if note != "" {
					fmt.Fprintf(e.stderr, "note: %s\n", note)
				}
				return printWorkers(e.stdout, workers)
			},
		},
		&cobra.Command{
			Use:   "tokens",
			Short: "Show the fingerprints of the cluster tokens each server uses and accepts",
			Long: `Show, for every server of the Raft group, the fingerprint of the cluster token
it uses and of the tokens it also accepts (accepted_tokens), as it reports
them. While rotating the token, check with it that every server has been
restarted into a phase before starting the next; compare with the output of
'skiff token fingerprint < token-file'. See docs/operations.md.`,
			Args: exactArgs(0),
			RunE: func(cmd *cobra.Command, _ []string) error {
				servers, err := getRaftServers(cmd, e)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tUSES\tACCEPTS\tREACHABLE")
				for _, s := range servers {
					uses, accepts := s.Token, strings.Join(s.Accepted, ",")
					if uses == "" {
						uses = "?"
					}
					if accepts == "" {
						accepts = "-"
						if !s.Reachable {
							accepts = "?"
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, uses, accepts, yesNo(s.Reachable))
				}
				return tw.Flush()
			},
		},
		&cobra.Command{
			Use:   "remove NAME",
			Short: "Remove a server from the Raft group",
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newAPIClient(cmd, e)
				if err != nil {
					return err
				}
				var resp struct {
					Removed string `json:"removed"`
				}
				err = c.doJSON(cmd.Context(), http.MethodPost, operatorPath+"/raft/remove", raftRequest{ID: args[0]}, &resp)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "removed %s\n", resp.Removed)
				return err
			},
		},
		&cobra.Command{
			Use:   "transfer-leadership [NAME]",
			Short: "Hand leadership to NAME, or to a server the leader picks",
			Args:  maxArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newAPIClient(cmd, e)
				if err != nil {
					return err
				}
				var req raftRequest
				if len(args) == 1 {
					req.ID = args[0]
				}
				var resp struct {
					Leader string `json:"leader"`
				}
				err = c.doJSON(cmd.Context(), http.MethodPost, operatorPath+"/raft/transfer-leadership", req, &resp)
				if err != nil {
					return err
				}
				if resp.Leader == "" {
					// The old leader stepped down before it heard from the new one.
					_, err = fmt.Fprintln(e.stdout, "leadership transferred; see the new leader with: skiff cluster status")
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "leadership transferred to %s\n", resp.Leader)
				return err
			},
		},
		&cobra.Command{
			Use:   "recover --config server.yaml",
			Short: "Make this stopped server the only member after the others are lost for good",
			Long: `Recover from a permanent loss of quorum. Run it on the machine of a surviving
server while that server is stopped, with its configuration file. It rewrites
the server's Raft configuration so that the server is the only voter; started
again, it leads a one-server cluster, and new servers (fresh data_dir, same
token, join pointing at it) bring it back to three. Writes that only the lost
servers had received are gone; see docs/operations.md.`,
			Args: exactArgs(0),
			RunE: func(cmd *cobra.Command, _ []string) error {
				path, err := cmd.Flags().GetString("config")
				if err != nil {
					return err
				}
				if path == "" {
					return fmt.Errorf("--config is required: the stopped server's configuration file")
				}
				cfg, err := config.LoadServer(path, nil, e.environ)
				if err != nil {
					return err
				}
				if err := server.Recover(cfg, nil); err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "recovered %s as the only server of its cluster; start it again, then add servers with fresh data dirs\n", cfg.Name)
				return err
			},
		},
	)
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
