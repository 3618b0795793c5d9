package testcontainerd

import (
	"fmt"
	"strconv"
)

// configTOML renders the daemon's config (containerd 1.6, config version 2).
//
// The CRI plugin is disabled: it is the slowest to start and Skiff's worker
// drives containerd through its own API, not CRI. Snapshotters that cannot
// work on a plain ext4 or overlay host are disabled too, so the daemon's log
// shows only errors that matter.
func configTOML(d *Daemon) string {
	q := strconv.Quote
	return fmt.Sprintf(`version = 2
root = %s
state = %s
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = %s

[ttrpc]
  address = %s

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = %s
`, q(d.Root), q(d.State), q(d.Address), q(d.Address+".ttrpc"), q(d.dir+"/opt"))
}
