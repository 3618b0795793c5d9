package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
	"github.com/spf13/cobra"

	"github.com/skiffhq/skiff/internal/ociimage"
)

// Defaults of `skiff image import`: the socket Debian's containerd listens
// on and the containerd namespace the worker runs pods in.
const (
	defaultContainerdSocket = "/run/containerd/containerd.sock"
	defaultImageNamespace   = "skiff"
)

func newImageCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage container images on this node",
	}
	var socket, ns, snapshotter string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Load an OCI image archive into this node's containerd",
		Long: `Load an OCI image-layout archive (as "make demo-image" writes, or "ctr images
export") into the local containerd, in the namespace the worker runs pods
in, and unpack it, so pods whose image field names it start without a
registry (with imagePullPolicy IfNotPresent or Never).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return importImage(cmd.Context(), e, args[0], socket, ns, snapshotter)
		},
	}
	imp.Flags().StringVar(&socket, "containerd-socket", defaultContainerdSocket, "containerd's grpc socket")
	imp.Flags().StringVar(&ns, "namespace", defaultImageNamespace, "containerd namespace to import into")
	imp.Flags().StringVar(&snapshotter, "snapshotter", "", `snapshotter to unpack into ("" = the namespace's default, else overlayfs)`)
	cmd.AddCommand(imp)
	return cmd
}

func importImage(ctx context.Context, e env, file, socket, ns, snapshotter string) error {
	if ns == "" {
		return fmt.Errorf("--namespace must not be empty")
	}
	// Fail fast on a file that is no image archive, before dialing.
	if _, err := ociimage.Inspect(file); err != nil {
		return err
	}
	// grpc would wait out its whole timeout on a socket that is not there.
	if _, err := os.Stat(socket); err != nil {
		return fmt.Errorf("containerd socket (--containerd-socket): %w", err)
	}
	c, err := containerd.New(socket, containerd.WithTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("connect to containerd at %s (--containerd-socket): %w", socket, err)
	}
	defer c.Close()
	imgs, err := ociimage.ImportFile(namespaces.WithNamespace(ctx, ns), c, file, snapshotter)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if _, err := fmt.Fprintf(e.stdout, "imported %s (%s) into namespace %s\n", img.Name, img.Target.Digest, ns); err != nil {
			return err
		}
	}
	return nil
}
