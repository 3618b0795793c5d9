package ui_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/internal/ociimage"
	"github.com/skiffhq/skiff/internal/testcontainerd"
	"github.com/skiffhq/skiff/internal/testimages"
	"github.com/skiffhq/skiff/testcluster"
	"github.com/skiffhq/skiff/worker"
	wcontainerd "github.com/skiffhq/skiff/worker/containerd"
)

// startWorker runs a real worker named name in the test process against
// cluster c: a private containerd with the serve test image imported, CNI
// bridge networking on a bridge of the test's own, and a pod CIDR given
// by hand (node IPAM is a controller the cluster does not run). It skips
// without root, containerd or the CNI plugins, unless
// SKIFF_REQUIRE_WORKER=1. The worker stops when the test ends.
func startWorker(t *testing.T, c *testcluster.Cluster, kc kubernetes.Interface, name string) {
	t.Helper()
	testcontainerd.SkipUnlessAvailable(t)
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		if os.Getenv(testcontainerd.RequireEnv) == "1" {
			t.Fatalf("CNI plugins missing in /usr/lib/cni and %s=1 forbids skipping", testcontainerd.RequireEnv)
		}
		t.Skip("CNI plugins missing in /usr/lib/cni (apt-get install containernetworking-plugins)")
	}
	d := testcontainerd.Start(t)
	ctx, err := d.Namespace(context.Background(), wcontainerd.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ociimage.ImportFile(ctx, d.Client(), testimages.Path(t, testimages.Serve), d.Snapshotter); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	bridge := "sku" + hex.EncodeToString(b[:])
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })

	dir := t.TempDir()
	cfg := config.DefaultWorker()
	cfg.Name = name
	cfg.DataDir = dir
	cfg.Join = []string{c.Config(0).GossipAddr}
	cfg.Token = c.Token()
	cfg.ContainerdSocket = d.Address
	cfg.GossipAddr = "127.0.0.1:0"
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.CNIConfDir = filepath.Join(dir, "cni")
	cfg.CNIBridge = bridge
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SKIFF_TEST_LOG") == "1" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	rt, err := wcontainerd.New(wcontainerd.Options{Client: d.Client(), DataDir: dir, CNIBinDir: cfg.CNIBinDir, CNIConfDir: cfg.CNIConfDir,
		Bridge: bridge, Snapshotter: d.Snapshotter, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(worker.Config{Worker: cfg, Runtime: rt, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := w.Run(runCtx)
		rt.Close()
		done <- err
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker %s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("worker %s did not stop within 30s", name)
		}
	})

	// Before the worker stops: delete its pods and wait until it has
	// removed them, network namespaces included (they are mounted in the
	// test's temporary directory).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		one := int64(1)
		sel := metav1.ListOptions{FieldSelector: "spec.nodeName=" + name}
		pods, err := kc.CoreV1().Pods("").List(ctx, sel)
		if err != nil {
			t.Errorf("drain %s: %v", name, err)
			return
		}
		for _, p := range pods.Items {
			kc.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &one})
		}
		if err := testcluster.WaitFor(ctx, func() bool {
			l, err := kc.CoreV1().Pods("").List(ctx, sel)
			return err == nil && len(l.Items) == 0
		}); err != nil {
			t.Errorf("drain %s: pods left: %v", name, err)
		}
	})
	wctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cidr := fmt.Sprintf("10.251.%d.0/24", 1+int(b[0])%250)
	if err := testcluster.WaitFor(wctx, func() bool {
		n, err := kc.CoreV1().Nodes().Get(wctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		if n.Spec.PodCIDR == "" {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
			_, err = kc.CoreV1().Nodes().Update(wctx, n, metav1.UpdateOptions{})
			return err == nil
		}
		return true
	}); err != nil {
		t.Fatalf("worker %s did not register: %v", name, err)
	}
}
