package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// storeHash is one server's answer to GET /skiff/v1/operator/hash.
type storeHash struct {
	ID       string `json:"id"`
	Revision uint64 `json:"revision"`
	Hash     string `json:"hash"`
}

// hashTimeout bounds how long one server may take to hash its replica.
const hashTimeout = 10 * time.Second

func newClusterHashCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "hash",
		Short: "Compare the store digests of every server's replica",
		Long: `Ask every server of the Raft group for a digest of its replica (keys, values
and revisions) and the revision it has applied. Replicas at the same revision
must have the same digest; the command fails if two differ. A replica that is
behind shows a lower revision: run the command again once writes have stopped.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd, e)
			if err != nil {
				return err
			}
			var resp struct {
				Servers []raftServer `json:"servers"`
			}
			if err := c.doJSON(cmd.Context(), http.MethodGet, operatorPath+"/raft", nil, &resp); err != nil {
				return err
			}
			// Other servers are reached the way this one is, at the API
			// address gossip gave them.
			scheme := "https"
			if u, err := url.Parse(c.base); err == nil && u.Scheme != "" {
				scheme = u.Scheme
			}
			hashes := make([]storeHash, len(resp.Servers))
			errs := make([]error, len(resp.Servers))
			var wg sync.WaitGroup
			for i, s := range resp.Servers {
				if s.APIAddress == "" {
					errs[i] = fmt.Errorf("API address unknown")
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(cmd.Context(), hashTimeout)
					defer cancel()
					other := *c
					other.base = scheme + "://" + s.APIAddress
					errs[i] = other.doJSON(ctx, http.MethodGet, operatorPath+"/hash", nil, &hashes[i])
				}()
			}
			wg.Wait()
			return printHashes(e.stdout, resp.Servers, hashes, errs)
		},
	}
}

// printHashes writes the table and returns an error if two replicas at the
// same revision differ.
func printHashes(w io.Writer, servers []raftServer, hashes []storeHash, errs []error) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREVISION\tHASH")
	byRev := map[uint64]string{}
	var diverged []string
	for i, s := range servers {
		if errs[i] != nil {
			fmt.Fprintf(tw, "%s\t-\t%v\n", s.ID, errs[i])
			continue
		}
		h := hashes[i]
		fmt.Fprintf(tw, "%s\t%d\t%s\n", s.ID, h.Revision, h.Hash)
		if prev, ok := byRev[h.Revision]; ok && prev != h.Hash {
			diverged = append(diverged, s.ID)
		}
		byRev[h.Revision] = h.Hash
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(diverged) > 0 {
		return fmt.Errorf("replicas at the same revision differ (%v): the store has diverged", diverged)
	}
	return nil
}
