package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"

	"github.com/skiffhq/skiff/apiserver/auth"
	"github.com/skiffhq/skiff/config"
	"github.com/skiffhq/skiff/fsm/raftstore"
)

// LeaderComponent is work that runs only on the Raft leader, like the
// scheduler and the controllers. Each leadership term builds it afresh
// from that term's clients and stops it the moment the term ends.
type LeaderComponent struct {
	// Name identifies the component in logs, in its events' source and
	// in its API user name (system:skiff:<name>).
	Name string
	// New builds the component. It requests the informers it needs from
	// c.Informers and returns without starting anything: the runner
	// starts the shared informers once every component is built.
	New func(c *LeaderClients) (Runnable, error)
}

// Runnable is a built leader component.
type Runnable interface {
	// Run works until ctx is cancelled, then returns nil; an error means
	// it could not go on, and the runner builds and starts it again after
	// a pause, within the same term.
	Run(ctx context.Context) error
}

// RunnableFunc adapts a function to Runnable.
type RunnableFunc func(ctx context.Context) error

// Run calls f.
func (f RunnableFunc) Run(ctx context.Context) error { return f(ctx) }

// LeaderClients is what a leader component gets to see the cluster with:
// the Kubernetes API of this server, over loopback TLS, as a user of the
// controller role whose writes are fenced to Term. A write that commits
// after leadership has passed to another server is refused with 409.
type LeaderClients struct {
	// Term is the Raft term this leadership began in.
	Term uint64
	// Config is the component's own client configuration.
	Config *rest.Config
	// Kube is a clientset over Config.
	Kube kubernetes.Interface
	// Informers is shared by every component of the term (resync off).
	Informers informers.SharedInformerFactory
	// Recorder records Events with the component's name as their source.
	Recorder record.EventRecorder
	// Log carries the component's name.
	Log *slog.Logger
	// Cluster is the server's configuration (the cluster's CIDRs, DNS).
	Cluster config.Server
}

// componentRestart is how long the runner waits before building a
// component again after its Run failed.
const componentRestart = time.Second

// leaderLoop runs each leadership of this server, one after another, until
// ctx ends.
func (s *Server) leaderLoop(ctx context.Context) {
	for {
		var l raftstore.Leadership
		select {
		case <-ctx.Done():
			return
		case l = <-s.node.Leaderships():
		}
		lctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(ctx, cancel)
		go func() {
			select {
			case <-l.Lost:
				cancel()
			case <-lctx.Done():
			}
		}()
		s.log.Info("leader components starting", "term", l.Term)
		s.runLeadership(lctx, l.Term)
		cancel()
		stop()
		s.log.Info("leader components stopped", "term", l.Term)
	}
}

// runLeadership does the leader's work for one term and returns once ctx
// ends and everything it started has stopped. Its first tasks need no API
// (the cluster CA must exist before the API serves TLS); the components
// need the API.
func (s *Server) runLeadership(ctx context.Context, term uint64) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if !retry(ctx, s.log, "creating the cluster CA", func(ctx context.Context) error { return s.ensureCA(ctx, term) }) {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.keepSystemObjects(ctx, term)
	}()
	st, err := s.tlsReady(ctx)
	if err != nil {
		return
	}
	comps := s.leaderComponents()
	if len(comps) == 0 {
		<-ctx.Done()
		return
	}
	creds := newCredentials(s.authn, term)
	defer creds.revoke()
	base := &rest.Config{
		Host:            s.URL(),
		TLSClientConfig: rest.TLSClientConfig{CAData: st.caPEM},
		// The components are the cluster's busiest clients (a burst of
		// pods is a bind and a status write each); the API's in-flight
		// limits, not client throttling, bound them.
		QPS:       1000,
		Burst:     2000,
		UserAgent: "skiff-leader",
	}
	infCfg, err := creds.config(base, "informers")
	if err != nil {
		s.log.Error("leader components: credentials", "error", err)
		<-ctx.Done()
		return
	}
	infClient, err := kubernetes.NewForConfig(infCfg)
	if err != nil {
		s.log.Error("leader components: informer client", "error", err)
		<-ctx.Done()
		return
	}
	factory := informers.NewSharedInformerFactory(infClient, 0)
	defer factory.Shutdown()
	type built struct {
		comp LeaderComponent
		c    *LeaderClients
		r    Runnable
	}
	var all []built
	for _, comp := range comps {
		c, closeRec, err := s.leaderClients(creds, base, factory, comp.Name, term)
		if err != nil {
			s.log.Error("leader component: clients", "component", comp.Name, "error", err)
			continue
		}
		defer closeRec()
		r, err := comp.New(c)
		if err != nil {
			s.log.Error("leader component: build", "component", comp.Name, "error", err)
			continue
		}
		all = append(all, built{comp, c, r})
	}
	factory.Start(ctx.Done())
	for _, b := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runComponent(ctx, b.comp, b.c, b.r)
		}()
	}
	<-ctx.Done()
}

// runComponent runs r until ctx ends, building the component again after
// a pause whenever Run fails.
func (s *Server) runComponent(ctx context.Context, comp LeaderComponent, c *LeaderClients, r Runnable) {
	for {
		err := r.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("returned before its leadership ended")
		}
		c.Log.Error("leader component failed; restarting it", "error", err, "after", componentRestart)
		select {
		case <-ctx.Done():
			return
		case <-time.After(componentRestart):
		}
		// Rebuilt against the same, already started, informers: asking
		// for an informer again returns the running one.
		if nr, err := comp.New(c); err == nil {
			r = nr
		} else {
			c.Log.Error("leader component: rebuild", "error", err)
		}
	}
}

// leaderClients builds one component's clients; the returned func stops
// its event recorder.
func (s *Server) leaderClients(creds *credentials, base *rest.Config, factory informers.SharedInformerFactory, name string, term uint64) (*LeaderClients, func(), error) {
	cfg, err := creds.config(base, name)
	if err != nil {
		return nil, nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	rec, stop := newRecorder(kube, name)
	return &LeaderClients{
		Term:      term,
		Config:    cfg,
		Kube:      kube,
		Informers: factory,
		Recorder:  rec,
		Log:       s.log.With("component", name, "term", term),
		Cluster:   s.cfg,
	}, stop, nil
}

// retry calls f until it succeeds or ctx ends, pausing between attempts;
// it reports whether f succeeded.
func retry(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error) bool {
	pause := 50 * time.Millisecond
	for {
		err := f(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		log.Warn(what, "error", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// credentials are the in-process tokens of one leadership's components:
// valid on this server only, for this term only.
type credentials struct {
	authn  *auth.Authenticator
	term   uint64
	mu     sync.Mutex
	tokens []string
}

func newCredentials(a *auth.Authenticator, term uint64) *credentials {
	return &credentials{authn: a, term: term}
}

// config returns base with a new token of the controller role, fenced to
// the term, for the component name.
func (c *credentials) config(base *rest.Config, name string) (*rest.Config, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("controller token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	c.authn.AddInProcess(tok, auth.User{Name: "system:skiff:" + name, Role: auth.RoleController, Term: c.term})
	c.mu.Lock()
	c.tokens = append(c.tokens, tok)
	c.mu.Unlock()
	cfg := rest.CopyConfig(base)
	cfg.BearerToken = tok
	cfg.UserAgent = "skiff-" + name
	return cfg, nil
}

// revoke withdraws every token: a component that outlives its term (a
// request still in flight) is refused at the door as well as fenced.
func (c *credentials) revoke() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tokens {
		c.authn.RemoveInProcess(t)
	}
	c.tokens = nil
}
