package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// benchSchedOptions are the flags of `skiff bench scheduler`.
type benchSchedOptions struct {
	kubeconfig   string
	servers      []string
	nodes, pods  int
	clients      int
	taintPercent int
	spreadZones  bool
	zones        int
	namespace    string
	keep         bool
	timeout      time.Duration
}

func newBenchSchedulerCmd(e env) *cobra.Command {
	var o benchSchedOptions
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Measure the scheduler: pods bound per second and create→bound latency",
		Long: `Create --nodes Node objects (no workers behind them), then --pods pods through
concurrent clients, and wait until the leader's scheduler has bound them all.
Prints one line:

  nodes=N pods=M clients=C bound=B elapsed=Xs throughput=T/s p50=Pms p99=Qms

elapsed runs from the first pod create to the last binding a watch saw;
latency is from just before a pod's create to the watch event showing it
bound. With --taint-percent P, P% of the nodes carry a NoSchedule taint the
pods do not tolerate; with --spread-zones the pods spread over the zones
(topologySpreadConstraints, maxSkew 1, DoNotSchedule). The run's nodes and
pods, labelled run=<id>, are deleted afterwards unless --keep.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := o.validate()
			if err == nil && o.kubeconfig == "" && lookupEnv(e.environ, "KUBECONFIG") == "" {
				err = errors.New("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
			}
			if err != nil {
				return usageError{cmd: strings.TrimPrefix(cmd.CommandPath(), "skiff "), err: err}
			}
			return benchScheduler(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig with the API server, credentials and CA (default $KUBECONFIG)")
	f.StringSliceVar(&o.servers, "servers", nil, "API URLs to send the creates to (default: every server of the Raft group)")
	f.IntVar(&o.nodes, "nodes", 5000, "Node objects to create")
	f.IntVar(&o.pods, "pods", 10000, "pods to create")
	f.IntVar(&o.clients, "clients", 32, "concurrent creators")
	f.IntVar(&o.taintPercent, "taint-percent", 0, "percentage of nodes with a NoSchedule taint")
	f.BoolVar(&o.spreadZones, "spread-zones", false, "spread the pods over zones with a DoNotSchedule constraint")
	f.IntVar(&o.zones, "zones", 3, "zones the nodes are labelled with")
	f.StringVar(&o.namespace, "namespace", "default", "namespace of the pods")
	f.BoolVar(&o.keep, "keep", false, "keep the nodes and pods instead of deleting them afterwards")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up waiting for bindings after this long")
	return cmd
}

func (o benchSchedOptions) validate() error {
	switch {
	case o.nodes < 1:
		return fmt.Errorf("--nodes must be at least 1, got %d", o.nodes)
	case o.pods < 1:
		return fmt.Errorf("--pods must be at least 1, got %d", o.pods)
	case o.clients < 1:
		return fmt.Errorf("--clients must be at least 1, got %d", o.clients)
	case o.taintPercent < 0 || o.taintPercent > 100:
		return fmt.Errorf("--taint-percent must be within 0..100, got %d", o.taintPercent)
	case o.zones < 1:
		return fmt.Errorf("--zones must be at least 1, got %d", o.zones)
	case o.timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %s", o.timeout)
	case o.namespace == "":
		return errors.New("--namespace must not be empty")
	}
	return nil
}

// benchSchedRun is one run's objects.
type benchSchedRun struct {
	id string
	o  benchSchedOptions
}

func (r benchSchedRun) node(i int) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   fmt.Sprintf("bench-%s-node-%05d", r.id, i),
			Labels: map[string]string{benchLabel: r.id, corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%r.o.zones)},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
				corev1.ResourcePods: resource.MustParse("110"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "Bench"}},
		},
	}
	n.Labels[corev1.LabelHostname] = n.Name
	n.Status.Capacity = n.Status.Allocatable.DeepCopy()
	// Spread the tainted nodes evenly: node i is tainted when the count of
	// tainted nodes up to i grows.
	if i*r.o.taintPercent/100 != (i+1)*r.o.taintPercent/100 {
		n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "bench", Effect: corev1.TaintEffectNoSchedule}}
	}
	return n
}

func (r benchSchedRun) pod(i int) *corev1.Pod {
	app := "bench-" + r.id
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%s-%05d", r.id, i), Labels: map[string]string{benchLabel: r.id, "app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "bench:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}}}},
	}
	if r.o.spreadZones {
		p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone,
			WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
	}
	return p
}

// benchScheduler runs one measurement and prints its line.
func benchScheduler(ctx context.Context, e env, o benchSchedOptions) error {
	base, err := loadKubeconfig(o.kubeconfig, e.environ)
	if err != nil {
		return err
	}
	urls := o.servers
	if len(urls) == 0 {
		if urls, err = discoverServers(ctx, base); err != nil {
			return err
		}
	}
	cs := make([]*kubernetes.Clientset, len(urls))
	for i, u := range urls {
		c, tr, err := benchClientset(base, u, o.clients)
		if err != nil {
			return err
		}
		defer tr.CloseIdleConnections()
		cs[i] = c
	}
	id, err := newRunID()
	if err != nil {
		return err
	}
	r := benchSchedRun{id: id, o: o}
	fmt.Fprintf(e.stderr, "bench: run %s: creating %d nodes\n", id, o.nodes)
	if !o.keep {
		defer func() {
			if err := cleanupSchedRun(ctx, cs, r); err != nil {
				fmt.Fprintf(e.stderr, "bench: %v\n", err)
			}
		}()
	}
	if err := parallel(ctx, o.clients, o.nodes, func(c, i int) error {
		return createRetrying(ctx, func() error {
			_, err := cs[c%len(cs)].CoreV1().Nodes().Create(ctx, r.node(i), metav1.CreateOptions{})
			return err
		})
	}); err != nil {
		return fmt.Errorf("create nodes: %w", err)
	}

	pods := cs[0].CoreV1().Pods(o.namespace)
	sel := metav1.ListOptions{LabelSelector: benchLabel + "=" + id}
	list, err := pods.List(ctx, sel)
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	sel.ResourceVersion = list.ResourceVersion
	w, err := pods.Watch(ctx, sel)
	if err != nil {
		return fmt.Errorf("watch pods: %w", err)
	}
	defer w.Stop()

	created := make([]time.Time, o.pods)
	var mu sync.Mutex
	bound := map[string]time.Time{}
	allBound := make(chan struct{})
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Error || p.Spec.NodeName == "" {
				continue
			}
			mu.Lock()
			if _, seen := bound[p.Name]; !seen {
				bound[p.Name] = time.Now()
				if len(bound) == o.pods {
					close(allBound)
				}
			}
			mu.Unlock()
		}
	}()
	fmt.Fprintf(e.stderr, "bench: creating %d pods with %d clients\n", o.pods, o.clients)
	start := time.Now()
	if err := parallel(ctx, o.clients, o.pods, func(c, i int) error {
		created[i] = time.Now()
		return createRetrying(ctx, func() error {
			_, err := cs[c%len(cs)].CoreV1().Pods(o.namespace).Create(ctx, r.pod(i), metav1.CreateOptions{})
			return err
		})
	}); err != nil {
		return fmt.Errorf("create pods: %w", err)
	}
	select {
	case <-allBound:
	case <-time.After(o.timeout):
	case <-ctx.Done():
	}
	w.Stop()
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	var last time.Time
	for i := range o.pods {
		if t, ok := bound[r.pod(i).Name]; ok {
			lat = append(lat, t.Sub(created[i]))
			if t.After(last) {
				last = t
			}
		}
	}
	slices.Sort(lat)
	elapsed := last.Sub(start)
	var rate float64
	if elapsed > 0 {
		rate = float64(len(lat)) / elapsed.Seconds()
	}
	fmt.Fprintf(e.stdout, "nodes=%d pods=%d clients=%d taint=%d%% spread_zones=%v bound=%d elapsed=%.2fs throughput=%.0f/s p50=%.2fms p99=%.2fms\n",
		o.nodes, o.pods, o.clients, o.taintPercent, o.spreadZones, len(lat), elapsed.Seconds(), rate,
		ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)))
	if len(lat) < o.pods {
		return fmt.Errorf("%d of %d pods bound within --timeout %s", len(lat), o.pods, o.timeout)
	}
	return nil
}

// createRetrying calls create (or any write) until it succeeds, up to 5
// times while the API answers that it is busy (a write that timed out,
// 429): a real client retries those. AlreadyExists after a retry means the earlier attempt
// got through. A pod's latency is counted from its first attempt.
func createRetrying(ctx context.Context, create func() error) error {
	pause := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := create()
		switch {
		case err == nil, attempt > 0 && apierrors.IsAlreadyExists(err):
			return nil
		case attempt < 4 && (apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err)):
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// parallel runs f for i in [0, n) on clients goroutines (f gets the
// goroutine's number c too) and returns the first error; it stops handing
// out work after an error.
func parallel(ctx context.Context, clients, n int, f func(c, i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(c, i); err != nil {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// cleanupSchedRun deletes the run's pods (at once: no worker will confirm
// a graceful delete) and nodes.
func cleanupSchedRun(ctx context.Context, cs []*kubernetes.Clientset, r benchSchedRun) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: benchLabel + "=" + r.id}
	c := cs[0].CoreV1()
	// A DeleteCollection that times out has deleted part of the run;
	// calling it again deletes the rest.
	errPods := createRetrying(ctx, func() error {
		return c.Pods(r.o.namespace).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, sel)
	})
	errNodes := createRetrying(ctx, func() error { return c.Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel) })
	if err := errors.Join(errPods, errNodes); err != nil {
		return fmt.Errorf("delete the run's objects (kubectl delete pods,nodes -l %s=%s): %w", benchLabel, r.id, err)
	}
	return nil
}
