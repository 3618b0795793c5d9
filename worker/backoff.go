package worker

import "time"

// Restart back-off, as Kubernetes' kubelet does it: the first restart is
// immediate, then the delay starts at 10s and doubles up to 5 minutes; a
// container that ran for 10 minutes before it exited starts over.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	backoffReset   = 10 * time.Minute
)

// backoff is one container's restart back-off. The zero value has never
// restarted.
type backoff struct {
	delay time.Duration // delay before the next restart; 0 restarts at once
}

// next returns when a container that ran from started to finished may
// restart, and the back-off after that restart. It is a pure function of
// its inputs.
func (b backoff) next(started, finished time.Time) (at time.Time, after backoff) {
	d := b.delay
	if !started.IsZero() && finished.Sub(started) >= backoffReset {
		d = 0
	}
	after.delay = backoffInitial
	if d > 0 {
		after.delay = min(2*d, backoffMax)
	}
	return finished.Add(d), after
}
