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
		Short: "Manage container images on the nodes",
	}
	var socket, ns, snapshotter, node string
	imp := &cobra.Command{
		Use:   "import FILE [--node NODE]",
		Short: "Load an OCI image archive into a node's containerd",
		Long: `Load an OCI image-layout archive (as "make demo-image" writes, or "ctr images
export") into a node's containerd, in the namespace the worker runs pods
in, and unpack it, so pods whose image field names it start without a
registry (with imagePullPolicy IfNotPresent or Never).

Without --node, the archive goes to the containerd of this machine
(--containerd-socket). With --node, it is uploaded through the API server
to that node's worker (the node proxy, which takes an admin token), with
a progress line; the node must be Ready.`,
		Args: exactArgs(1),
	}
	k := addKubeFlagsWithoutNamespace(imp, e)
	imp.RunE = k.run(func(cmd *cobra.Command, args []string) error {
		if node != "" {
			for _, f := range []string{"containerd-socket", "namespace", "snapshotter"} {
				if cmd.Flags().Changed(f) {
					return usageError{cmd: "import", err: fmt.Errorf("--%s is for a local import; with --node the worker uses its own", f)}
				}
			}
			return importImageToNode(cmd.Context(), e, k, args[0], node)
		}
		return importImage(cmd.Context(), e, args[0], socket, ns, snapshotter)
	})
	imp.Flags().StringVar(&node, "node", "", "import on this node of the cluster, through the API")
	imp.Flags().StringVar(&socket, "containerd-socket", defaultContainerdSocket, "containerd's grpc socket (local import)")
	imp.Flags().StringVar(&ns, "namespace", defaultImageNamespace, "containerd namespace to import into (local import)")
	imp.Flags().StringVar(&snapshotter, "snapshotter", "", `snapshotter to unpack into ("" = the namespace's default, else overlayfs; local import)`)
	imp.RegisterFlagCompletionFunc("node", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return objectNames(cmd, k, "nodes"), cobra.ShellCompDirectiveNoFileComp
	})
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
