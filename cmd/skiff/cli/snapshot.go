package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// revisionHeader carries the store revision a snapshot was taken at.
const revisionHeader = "X-Skiff-Revision"

func newSnapshotCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save and restore the cluster store",
	}
	addClientFlags(cmd)
	cmd.AddCommand(
		&cobra.Command{
			Use:   "save FILE",
			Short: "Download a snapshot of the cluster store to FILE",
			Long: `Download a snapshot of the cluster store. The data goes to FILE.tmp, is
synced to disk, and is renamed to FILE only when complete, so a failed
download never leaves a partial FILE behind.`,
			Args: exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newAPIClient(cmd, e)
				if err != nil {
					return err
				}
				n, rev, err := saveSnapshot(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				if rev == "" {
					rev = "unknown"
				}
				_, err = fmt.Fprintf(e.stdout, "saved %s (%d bytes, revision %s)\n", args[0], n, rev)
				return err
			},
		},
		&cobra.Command{
			Use:   "restore FILE",
			Short: "Replace the whole cluster store with the snapshot in FILE",
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := newAPIClient(cmd, e)
				if err != nil {
					return err
				}
				rev, err := restoreSnapshot(cmd.Context(), c, args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(e.stdout, "restored %s at revision %d\n", args[0], rev)
				return err
			},
		},
	)
	return cmd
}

// saveSnapshot downloads a snapshot into file through file.tmp and returns
// its size and revision. On any error file is left as it was and file.tmp is
// removed.
func saveSnapshot(ctx context.Context, c *apiClient, file string) (n int64, rev string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+operatorPath+"/snapshot", nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept", "application/octet-stream")
	resp, err := c.do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()

	tmp := file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("save snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err = io.Copy(f, resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("download snapshot from %s after %d bytes: %w", c.base, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return 0, "", fmt.Errorf("download snapshot from %s: got %d of %d bytes", c.base, n, resp.ContentLength)
	}
	if err = f.Sync(); err != nil {
		return 0, "", fmt.Errorf("save snapshot: %w", err)
	}
	if err = f.Close(); err != nil {
		return 0, "", fmt.Errorf("save snapshot: %w", err)
	}
	if err = os.Rename(tmp, file); err != nil {
		return 0, "", fmt.Errorf("save snapshot: %w", err)
	}
	// The rename is durable only once the directory is synced; the snapshot
	// itself is complete either way, so a failure here is not reported.
	if d, derr := os.Open(filepath.Dir(file)); derr == nil {
		d.Sync()
		d.Close()
	}
	return n, resp.Header.Get(revisionHeader), nil
}

// restoreSnapshot uploads file and returns the revision the store was
// restored at.
func restoreSnapshot(ctx context.Context, c *apiClient, file string) (uint64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, fmt.Errorf("restore snapshot: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("restore snapshot: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("restore snapshot: %s is not a regular file", file)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+operatorPath+"/snapshot", f)
	if err != nil {
		return 0, err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Revision *uint64 `json:"revision"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("decode response of PUT %s: %w", req.URL, err)
	}
	if out.Revision == nil {
		return 0, errors.New("restore snapshot: the server's response has no revision")
	}
	return *out.Revision, nil
}
