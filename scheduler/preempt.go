package scheduler

import "context"

// preempt is filled in by the preemption step; it returns the nominated
// node name, or "".
func (s *Scheduler) preempt(ctx context.Context, pi *PodInfo, fe *FitError) string { return "" }
