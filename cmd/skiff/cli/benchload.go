package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

const (
	// benchLabel labels each ConfigMap of a run with the run's ID.
	benchLabel = "run"
	// gapWriteTimeout bounds one write of a --for run, as the etcd anchor's
	// kvgap does, so that a write to a dead or leaderless server fails over
	// quickly.
	gapWriteTimeout = 500 * time.Millisecond
	// cleanupTimeout bounds the deletion of a run's ConfigMaps.
	cleanupTimeout = 10 * time.Minute
)

// benchWriter builds the ConfigMaps of one run.
type benchWriter struct {
	id    string
	value string
}

// configMap returns the run's i-th ConfigMap, bench-<id>-<i>.
func (w benchWriter) configMap(i int) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:   fmt.Sprintf("bench-%s-%d", w.id, i),
			Labels: map[string]string{benchLabel: w.id},
		},
		Data: map[string]string{"value": w.value},
	}
}

// countLoad creates n ConfigMaps with the given number of concurrent
// clients, client c writing to targets[c%len(targets)]. Writes not sent by
// deadline (or before ctx ends) are not sent; writes in flight then fail.
func countLoad(ctx context.Context, targets []corev1client.ConfigMapInterface, w benchWriter, clients, n int, deadline time.Time) benchSummary {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	lat := make([]time.Duration, n)
	ok := make([]bool, n)
	var next, sent atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		target := targets[c%len(targets)]
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				sent.Add(1)
				cm := w.configMap(i)
				t := time.Now()
				_, err := target.Create(ctx, cm, metav1.CreateOptions{})
				lat[i] = time.Since(t)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				ok[i] = true
			}
		})
	}
	wg.Wait()
	s := benchSummary{writes: int(sent.Load()), clients: clients, elapsed: time.Since(start), firstErr: firstErr}
	for i, d := range lat {
		if ok[i] {
			s.lat = append(s.lat, d)
		}
	}
	s.errors = s.writes - len(s.lat)
	return s
}

// gapLoad creates ConfigMaps one at a time for dur (at most maxWrites),
// each write bounded by gapWriteTimeout, moving to the next of targets
// after a failed write. The longest gap between two successful writes
// includes the one from the start to the first and from the last to the
// end, so an outage that lasts to the end is not hidden.
func gapLoad(ctx context.Context, targets []corev1client.ConfigMapInterface, w benchWriter, dur time.Duration, maxWrites int) benchSummary {
	s := benchSummary{clients: 1, gap: true}
	start := time.Now()
	end := start.Add(dur)
	last := start
	cur := 0
	for i := 0; i < maxWrites && ctx.Err() == nil && time.Now().Before(end); i++ {
		cm := w.configMap(i)
		wctx, cancel := context.WithTimeout(ctx, gapWriteTimeout)
		t := time.Now()
		_, err := targets[cur].Create(wctx, cm, metav1.CreateOptions{})
		cancel()
		done := time.Now()
		s.writes++
		if err != nil {
			s.errors++
			if s.firstErr == nil {
				s.firstErr = err
			}
			cur = (cur + 1) % len(targets)
			continue
		}
		s.lat = append(s.lat, done.Sub(t))
		s.maxGap = max(s.maxGap, done.Sub(last))
		last = done
	}
	s.elapsed = time.Since(start)
	s.maxGap = max(s.maxGap, time.Since(last))
	return s
}

// deleteRun deletes the run's ConfigMaps through the first of targets that
// manages it.
func deleteRun(ctx context.Context, targets []corev1client.ConfigMapInterface, id string) error {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	var errs []error
	for _, t := range targets {
		err := t.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: benchLabel + "=" + id})
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("delete the run's ConfigMaps: %w", errors.Join(errs...))
}

// benchSummary is what one run measured. Its String is the line the
// command prints.
type benchSummary struct {
	writes  int // sent
	errors  int // of the writes sent, those that failed
	clients int
	size    int
	elapsed time.Duration
	lat     []time.Duration // of the successful writes, in any order
	gap     bool            // a --for run: the line ends with max_gap
	maxGap  time.Duration
	// firstErr is the first failed write's error, for the operator's eyes.
	firstErr error
}

func (s benchSummary) String() string {
	sorted := slices.Sorted(slices.Values(s.lat))
	var rate float64
	if s.elapsed > 0 {
		rate = float64(len(s.lat)) / s.elapsed.Seconds()
	}
	line := fmt.Sprintf("writes=%d clients=%d size=%d errors=%d elapsed=%.2fs throughput=%.0f/s p50=%.2fms p99=%.2fms",
		s.writes, s.clients, s.size, s.errors, s.elapsed.Seconds(), rate, ms(percentile(sorted, 0.5)), ms(percentile(sorted, 0.99)))
	if s.gap {
		line += fmt.Sprintf(" max_gap=%.0fms", ms(s.maxGap))
	}
	return line
}

// percentile returns the q-quantile of sorted by the etcd anchor's rule,
// the element at index ⌊q·(len-1)⌋; zero when sorted is empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1))]
}

// ms is d in milliseconds with microsecond resolution, as the anchor
// prints it.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
