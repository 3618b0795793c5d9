package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/skiffhq/skiff/internal/ociimage"
	"github.com/skiffhq/skiff/worker"
)

// addKubeFlagsWithoutNamespace is addKubeFlags for a command whose
// --namespace means something else (image import's containerd
// namespace): the kubeconfig flags without -n.
func addKubeFlagsWithoutNamespace(cmd *cobra.Command, e env) *kube {
	k := &kube{e: e, flags: genericclioptions.NewConfigFlags(true)}
	k.flags.Namespace = nil
	k.flags.AddFlags(cmd.Flags())
	cmd.Flags().IntVar(&k.verbose, "v", 0, "log level: 6 shows each request, 8 their response bodies too")
	return k
}

// importImageToNode uploads the archive at file to node's worker through
// the API's node proxy (POST nodes/{node}/proxy/images/import), showing
// the upload's progress, and prints the images the worker stored. The
// node must exist and be Ready: an image loaded on a node that runs no
// pods helps nobody, and a node that is not Ready usually cannot be
// reached.
func importImageToNode(ctx context.Context, e env, k *kube, file, node string) error {
	img, err := ociimage.Inspect(file)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	cs, err := k.clientset()
	if err != nil {
		return err
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("node %q not found (--node); nodes: %s", node, nodeNames(ctx, k))
	}
	if err != nil {
		return err
	}
	if !nodeReady(n) {
		return fmt.Errorf("node %s is not Ready (--node): %s; import there once it is", node, notReadyReason(n))
	}
	p := newProgress(e.stdout)
	pr := &progressReader{r: f, total: st.Size()}
	stop := make(chan struct{})
	done := make(chan struct{})
	name := filepath.Base(file)
	go func() {
		defer close(done)
		t := time.NewTicker(progressInterval(p.tty))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.update(pr.line(name, node))
			}
		}
	}()
	res := cs.CoreV1().RESTClient().Post().AbsPath("/api/v1/nodes", node, "proxy", "images", "import").
		SetHeader("Content-Type", "application/x-tar").Body(pr).Do(ctx)
	close(stop)
	<-done
	// Error, unlike Raw's error, decodes the Status the API answers.
	if err := res.Error(); err != nil {
		p.done("")
		return fmt.Errorf("import %s on node %s: %w", img.Ref, node, err)
	}
	raw, _ := res.Raw()
	out, err := decodeImportResult(raw)
	if err != nil {
		p.done("")
		return err
	}
	p.done(fmt.Sprintf("uploaded %s (%s) to node %s", name, formatBytes(st.Size()), node))
	for _, im := range out.Images {
		if _, err := fmt.Fprintf(e.stdout, "imported %s (%s) on node %s\n", im.Name, im.Digest, node); err != nil {
			return err
		}
	}
	return nil
}

// decodeImportResult parses the worker's answer to an import.
func decodeImportResult(raw []byte) (worker.ImportResult, error) {
	var out worker.ImportResult
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("decode the worker's answer: %w", err)
	}
	if len(out.Images) == 0 {
		return out, fmt.Errorf("the worker imported no image")
	}
	return out, nil
}

// progressInterval is how often the upload line changes: often on a
// terminal, where it is rewritten in place, and every few seconds in a
// log, where each change is a line.
func progressInterval(tty bool) time.Duration {
	if tty {
		return 200 * time.Millisecond
	}
	return 5 * time.Second
}

// progressReader counts what the upload has read.
type progressReader struct {
	r     io.Reader
	total int64
	read  atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read.Add(int64(n))
	return n, err
}

// line is the progress line: bytes sent, of how many, and the share;
// once everything is sent, the worker is storing and unpacking.
func (p *progressReader) line(name, node string) string {
	read := p.read.Load()
	if read >= p.total {
		return fmt.Sprintf("uploaded %s to node %s; unpacking...", name, node)
	}
	pct := int64(100)
	if p.total > 0 {
		pct = read * 100 / p.total
	}
	return fmt.Sprintf("uploading %s to node %s: %s of %s (%d%%)", name, node, formatBytes(read), formatBytes(p.total), pct)
}

// formatBytes prints a size in binary units with one decimal.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// notReadyReason is the Ready condition's reason and message, or why
// there is none.
func notReadyReason(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			msg := strings.TrimSpace(c.Reason + " " + c.Message)
			if msg == "" {
				msg = "Ready is " + string(c.Status)
			}
			return msg
		}
	}
	return "it has not reported Ready yet"
}

// nodeNames lists the cluster's nodes for an error message.
func nodeNames(ctx context.Context, k *kube) string {
	cs, err := k.clientset()
	if err != nil {
		return "?"
	}
	l, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "?"
	}
	var names []string
	for _, n := range l.Items {
		names = append(names, n.Name)
	}
	if len(names) == 0 {
		return "none registered"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
