package controller

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/controller/deployment"
	"github.com/skiffhq/skiff/controller/garbagecollector"
	"github.com/skiffhq/skiff/controller/namespace"
	"github.com/skiffhq/skiff/controller/replicaset"
	"github.com/skiffhq/skiff/controller/serviceaccount"
)

// Config is what the controller manager needs: one client, one shared
// informer factory (the runner starts it after New), one event recorder.
type Config struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	Recorder  record.EventRecorder
	Log       *slog.Logger
	// TerminatedPodThreshold is how many finished pods the garbage
	// collector keeps (default 12500, as Kubernetes).
	TerminatedPodThreshold int
}

// Runner is one controller of the manager.
type Runner interface {
	Run(ctx context.Context) error
}

// Manager runs the workload controllers together.
type Manager struct {
	log     *slog.Logger
	runners map[string]Runner
}

// New builds every workload controller from cfg; each requests its
// informers from cfg.Informers. Nothing starts until Run.
func New(cfg Config) *Manager {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{log: cfg.Log.With("component", "controller-manager"), runners: map[string]Runner{}}
	m.runners["replicaset"] = replicaset.New(replicaset.Config{Client: cfg.Client, Informers: cfg.Informers, Recorder: cfg.Recorder, Log: cfg.Log})
	m.runners["deployment"] = deployment.New(deployment.Config{Client: cfg.Client, Informers: cfg.Informers, Recorder: cfg.Recorder, Log: cfg.Log})
	m.runners["garbagecollector"] = garbagecollector.New(garbagecollector.Config{Client: cfg.Client, Informers: cfg.Informers, Recorder: cfg.Recorder, Log: cfg.Log,
		TerminatedPodThreshold: cfg.TerminatedPodThreshold})
	m.runners["namespace"] = namespace.New(namespace.Config{Client: cfg.Client, Informers: cfg.Informers, Recorder: cfg.Recorder, Log: cfg.Log})
	m.runners["serviceaccount"] = serviceaccount.New(serviceaccount.Config{Client: cfg.Client, Informers: cfg.Informers, Log: cfg.Log})
	return m
}

// Run runs every controller until ctx ends. If one fails, the others are
// stopped and its error returned: the leader's runner then starts a fresh
// set rather than running with a controller missing.
func (m *Manager) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(m.runners))
	for name, r := range m.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(ctx); err != nil {
				m.log.Error("controller stopped", "controller", name, "err", err)
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(func() []error {
		var out []error
		for err := range errs {
			out = append(out, err)
		}
		return out
	}()...)
}
