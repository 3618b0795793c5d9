package fsm

import "context"

// WaitRev blocks until the store has applied revision rev (or a later one),
// or ctx ends.
func (s *Store) WaitRev(ctx context.Context, rev uint64) error {
	for {
		s.mu.RLock()
		cur, wake := s.rev, s.wake
		s.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}
