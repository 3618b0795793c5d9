package testcontainerd

import (
	"context"
	"fmt"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/defaults"
	"github.com/containerd/containerd/namespaces"
)

// pickSnapshotter returns "overlayfs" when the daemon's overlayfs plugin
// initialised (its init does a test mount on the root's filesystem), and
// "native", which works on any filesystem, otherwise.
func pickSnapshotter(ctx context.Context, c *containerd.Client) (string, error) {
	resp, err := c.IntrospectionService().Plugins(ctx, []string{`type=="io.containerd.snapshotter.v1",id=="overlayfs"`})
	if err != nil {
		return "", fmt.Errorf("list snapshotter plugins: %w", err)
	}
	for _, p := range resp.Plugins {
		if p.InitErr == nil {
			return "overlayfs", nil
		}
	}
	return "native", nil
}

// Namespace creates namespace ns (if missing) with d.Snapshotter as its
// default snapshotter, so the client's Import, Pull and WithNewSnapshot
// use it without being told, and returns ctx carrying ns.
func (d *Daemon) Namespace(ctx context.Context, ns string) (context.Context, error) {
	// The namespace service publishes an event in the namespace it
	// creates, so ctx must already carry it.
	ctx = namespaces.WithNamespace(ctx, ns)
	labels := map[string]string{defaults.DefaultSnapshotterNSLabel: d.Snapshotter}
	svc := d.client.NamespaceService()
	if err := svc.Create(ctx, ns, labels); err != nil {
		// It exists: set the label instead.
		if lerr := svc.SetLabel(ctx, ns, defaults.DefaultSnapshotterNSLabel, d.Snapshotter); lerr != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	return ctx, nil
}
