package containerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	gocni "github.com/containerd/go-cni"

	"github.com/skiffhq/skiff/worker"
)

// Namespace is the containerd namespace that holds every container and
// image of the worker.
const Namespace = "skiff"

// Labels on containerd containers.
const (
	labelPodUID    = "io.skiff.pod.uid"
	labelPodName   = "io.skiff.pod.name"
	labelPodNS     = "io.skiff.pod.namespace"
	labelContainer = "io.skiff.container.name"
	labelAttempt   = "io.skiff.container.attempt"
	labelLogPath   = "io.skiff.log.path"
	labelImage     = "io.skiff.image"
	labelStartedAt = "io.skiff.started.at"
	labelExitCode  = "io.skiff.exit.code"
	labelExitAt    = "io.skiff.exit.at"
	labelReason    = "io.skiff.exit.reason"
)

// Options configure a Runtime.
type Options struct {
	Client     *containerd.Client
	DataDir    string // pods/, netns/ and cni state live here
	CNIBinDir  string
	CNIConfDir string
	// Bridge is the Linux bridge pods attach to; default "skiff0".
	Bridge string
	// InsecureRegistries are host[:port]s pulled from over plain HTTP.
	InsecureRegistries []string
	LogMaxSize         int64
	// Snapshotter unpacks images and holds container filesystems; "" means
	// the namespace's default (its containerd.io/defaults/snapshotter
	// label), else containerd's.
	Snapshotter string
	Log         *slog.Logger
}

// Runtime is worker.Runtime on containerd. Its methods are safe for
// concurrent use.
type Runtime struct {
	c    *containerd.Client
	opts Options
	log  *slog.Logger

	exits chan string
	// bg lives until Close; exit watchers run under it.
	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// cniMu serializes CNI Setup and Remove. go-cni's race build swaps its
	// lock for go-deadlock, which on this Go cannot tell goroutines apart,
	// takes two concurrent readers for a recursive lock and exits the
	// process. CNI calls take tens of milliseconds, so one at a time costs
	// little.
	cniMu sync.Mutex
	// exitMu serializes recordExit: the exit watcher and ListContainers
	// may see one exit together, and only the first, before it deletes
	// the task and with it the cgroup, can tell an OOM kill.
	exitMu sync.Mutex

	mu      sync.Mutex
	cni     gocni.CNI // nil until SetPodCIDR
	cidr    string
	waiters map[string]bool      // container IDs whose exit is awaited
	logs    map[string]*logPipes // container ID -> its log copiers
}

var _ worker.Runtime = (*Runtime)(nil)

// New returns a Runtime over an existing client.
func New(opts Options) (*Runtime, error) {
	if opts.Client == nil {
		return nil, errors.New("containerd runtime: client is required")
	}
	if opts.Bridge == "" {
		opts.Bridge = "skiff0"
	}
	if opts.LogMaxSize <= 0 {
		opts.LogMaxSize = 10 << 20
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{"pods", "netns", "cni-ipam"} {
		if err := os.MkdirAll(filepath.Join(opts.DataDir, d), 0o700); err != nil {
			return nil, err
		}
	}
	bg, cancel := context.WithCancel(context.Background())
	return &Runtime{
		c: opts.Client, opts: opts, log: log.With("component", "containerd"),
		exits: make(chan string, 256), waiters: map[string]bool{}, logs: map[string]*logPipes{},
		bg: bg, cancel: cancel,
	}, nil
}

// Close stops watching containers (they keep running, for the next
// Runtime to adopt) and waits for the watchers to end. It does not close
// the client.
func (r *Runtime) Close() {
	r.cancel()
	r.wg.Wait()
}

func (r *Runtime) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, Namespace)
}

// Version returns "containerd://<version>".
func (r *Runtime) Version(ctx context.Context) (string, error) {
	v, err := r.c.Version(r.ns(ctx))
	if err != nil {
		return "", wrap(err)
	}
	return "containerd://" + v.Version, nil
}

// Exits delivers pod UIDs of containers whose process ended.
func (r *Runtime) Exits() <-chan string { return r.exits }

func (r *Runtime) notifyExit(podUID string) {
	select {
	case r.exits <- podUID:
	default:
	}
}

// wrap maps containerd errors to the worker's sentinels.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errdefs.IsNotFound(err):
		return fmt.Errorf("%w: %w", worker.ErrNotFound, err)
	case errdefs.IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", worker.ErrUnavailable, err)
	}
	return err
}
