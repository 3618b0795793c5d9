package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	statsv1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// newStatsCollector samples /proc for the node and, when the runtime is a
// StatsRuntime, the containers.
func newStatsCollector(rt Runtime) *statsCollector {
	c := &statsCollector{now: time.Now, wait: sleep}
	c.readNode = func() (nodeSample, error) { return readProcNode(c.now) }
	if sr, ok := rt.(StatsRuntime); ok {
		c.readContainers = sr.ContainerStats
	}
	return c
}

// summary returns the node's Summary: usage of the node and of every pod
// with a running container.
func (w *Worker) summary(ctx context.Context) (statsv1.Summary, error) {
	prev, cur, err := w.stats.collect(ctx)
	if err != nil {
		return statsv1.Summary{}, err
	}
	cs, err := w.rt.ListContainers(ctx, "")
	if err != nil {
		return statsv1.Summary{}, err
	}
	return buildSummary(w.cfg.Name, w.boot, podsOfContainers(cs), prev, cur), nil
}

// podsOfContainers groups running containers by pod, in a stable order
// (namespace, name; containers by name).
func podsOfContainers(cs []ContainerStatus) []summaryPod {
	byUID := map[string]*summaryPod{}
	var order []string
	for _, c := range cs {
		if c.State != StateRunning {
			continue
		}
		p, ok := byUID[c.PodUID]
		if !ok {
			p = &summaryPod{Namespace: c.Namespace, Name: c.PodName, UID: c.PodUID, StartTime: c.StartedAt}
			byUID[c.PodUID] = p
			order = append(order, c.PodUID)
		}
		if !c.StartedAt.IsZero() && (p.StartTime.IsZero() || c.StartedAt.Before(p.StartTime)) {
			p.StartTime = c.StartedAt
		}
		p.Containers = append(p.Containers, summaryContainer{ID: c.ID, Name: c.Name, StartTime: c.StartedAt})
	}
	out := make([]summaryPod, 0, len(order))
	for _, uid := range order {
		p := byUID[uid]
		slices.SortFunc(p.Containers, func(a, b summaryContainer) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b summaryPod) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// statsSummary serves GET /stats/summary, the kubelet's Summary API
// (k8s.io/kubelet/pkg/apis/stats/v1alpha1): CPU and memory of the node,
// its pods and their containers. CPU rates need two samples: the first
// request takes two, a second apart; later ones reuse the previous
// request's sample when it is recent.
func (e *endpoint) statsSummary(rw http.ResponseWriter, r *http.Request) {
	sum, err := e.w.summary(r.Context())
	if err != nil {
		http.Error(rw, "stats summary: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(rw).Encode(sum); err != nil {
		e.w.log.Debug("writing stats summary", "err", err)
	}
}
