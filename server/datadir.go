package server

import (
	"fmt"
	"log/slog"
	"os"
)

// privateDataDir creates the data directory, or makes an existing one
// private (0700) if other users could read it: it holds Raft snapshots
// and the log, and with them every Secret, token hash and the cluster CA's
// private key, in files that hashicorp/raft creates with default
// permissions. etcd enforces the same mode on its data directory.
func privateDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data dir %s is readable by other users (%v) and cannot be made private: %w", dir, perm, err)
		}
		log.Warn("data_dir was open to other users; made it private (0700), since it holds every Secret", "data_dir", dir, "was", perm.String())
	}
	return nil
}
